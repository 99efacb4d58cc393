// Vite turns CSS imports into side effects: tell TypeScript such modules exist.
declare module '*.css';
