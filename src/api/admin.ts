/**
 * Whether the principal of a request is an admin: the one place the command guard rails ask
 * (a protected meter's override needs an admin). Until access control lands every request is
 * anonymous, so nobody is an admin; the access-control branch replaces the body with its role check.
 */
import type { FastifyRequest } from 'fastify';

export type AdminCheck = (request: FastifyRequest) => boolean;

export const isAdmin: AdminCheck = () => false;
