/**
 * What the campaign page offers whom: the steps a campaign's state allows (the API answers
 * 409 to any other) and who may take them (firmware contract: writes are an administrator's;
 * pause and cancel also an operator's, so a dispatcher can stop a campaign that hurts).
 */
import { administers, canAct } from '../roles.js';
import type { CampaignState, Role } from '../types.js';

export const CAMPAIGN_STEPS = ['start', 'pause', 'resume', 'cancel'] as const;
export type CampaignStep = (typeof CAMPAIGN_STEPS)[number];

const ALLOWED_FROM: Readonly<Record<CampaignStep, readonly CampaignState[]>> = {
  start: ['draft'],
  pause: ['running'],
  resume: ['paused'],
  cancel: ['draft', 'running', 'paused'],
};

const MAY_TAKE: Readonly<Record<CampaignStep, (role: Role) => boolean>> = {
  start: administers,
  pause: canAct,
  resume: administers,
  cancel: canAct,
};

/** The steps `role` may take on a campaign in `state`, in the order the page shows them. */
export function stepsFor(role: Role, state: CampaignState): CampaignStep[] {
  return CAMPAIGN_STEPS.filter((step) => ALLOWED_FROM[step].includes(state) && MAY_TAKE[step](role));
}

/** A campaign the station is still working on: its page refreshes itself often. */
export function isActive(state: CampaignState): boolean {
  return state === 'running';
}
