/**
 * Whether the principal of a request is an admin: the one place the command guard rails ask
 * (a protected meter's override needs an admin).
 */
import type { FastifyRequest } from 'fastify';

export type AdminCheck = (request: FastifyRequest) => boolean;

export const isAdmin: AdminCheck = (request) => request.principal?.role === 'admin';
