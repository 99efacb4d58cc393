/**
 * The wire shapes of the access routes: who the caller is, and a login's answer. The
 * dashboard derives its types from these (src/web/types.ts). Types only from here on the
 * browser side: this module must not import Node code.
 */
import Type from 'typebox';
import { ROLES } from '../auth/roles.js';
import { OneOf } from '../config/schema.js';

export const MeOut = Type.Object({
  subject: Type.String({ description: '`user:<name>` or `token:<name>`' }),
  role: OneOf(ROLES),
  via: Type.String({ description: '`session` (cookie) or `token` (bearer)' }),
});

export const LoginOut = Type.Object({ name: Type.String(), role: OneOf(ROLES), expiresAt: Type.String() });
