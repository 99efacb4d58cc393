/**
 * Workflows and work orders in a real browser (Debian chromium via playwright-core) against a
 * head-end with workflows on: an administrator draws start → user task (a general work order
 * for the field role) → service task read-meter → end in the modeler, with the palette's
 * context pad and the side panel, checks and deploys it, starts it from the instances page
 * for a simulated meter; a field crew completes the order from its inbox; the instance view
 * then shows the process completed. A viewer has no deploy button and the API refuses its
 * deployment with 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/headend.js';
import { CHROMIUM, chromiumPresent, createUsers, screenshot, scrollsSideways, startDashboard, type Dashboard } from './harness.js';

const test = it.skipIf(!chromiumPresent);
if (!chromiumPresent) console.log(`tests/e2e/workflows: skipped, ${CHROMIUM} is not installed (apt install chromium)`);

const METER = 'sim-mq-01-1';
const PROCESS = 'e2e-field-visit';
const ADMIN = 'wf-admin';
const CREW = 'crew1';
let d: Dashboard;

beforeAll(async () => {
  if (!chromiumPresent) return;
  d = await startDashboard({ config: { workflows: { enabled: true } } });
  await createUsers(d.he, [[ADMIN, 'admin'], [CREW, 'field']]);
}, 90_000);

afterAll(async () => {
  if (chromiumPresent) await d.close();
});

/** Clicks a shape on the canvas unless it is selected already (a click on a selected shape deselects it in diagram-js). */
async function select(page: Page, elementId: string): Promise<void> {
  if (await page.locator(`.djs-element.selected[data-element-id="${elementId}"]`).count() > 0) return;
  await page.click(`.djs-element[data-element-id="${elementId}"]`);
  await page.locator(`[data-testid=wf-panel][data-element="${elementId}"]`).waitFor();
}

/** Appends a shape after the selected one through its context pad; returns the new shape's id once the panel shows it. */
async function append(page: Page, action: string, type: string): Promise<string> {
  await page.click(`.djs-context-pad [data-action="${action}"]`);
  const panel = page.locator(`[data-testid=wf-panel][data-type="${type}"]`);
  await panel.waitFor();
  const id = await panel.getAttribute('data-element');
  if (id === null) throw new Error(`no element id for ${type}`);
  return id;
}

describe('workflows in the dashboard', () => {
  test('an administrator draws, checks and deploys a process; it starts from the instances page; a field crew completes its order; the instance completes', async () => {
    const { page } = await d.session(ADMIN);
    await page.goto('/#/workflows/new');
    await page.locator('.djs-palette [data-action="create.user-task"]').waitFor({ timeout: 20_000 });
    // The palette offers what the engine runs, and no generic task, sub-process or pool.
    expect(await page.locator('.djs-palette [data-action="create.task"], .djs-palette [data-action="create.subprocess-expanded"], .djs-palette [data-action="create.participant-expanded"]').count()).toBe(0);
    // The catalogue has loaded once the panel offers the work order types.
    await select(page, 'start');
    const userTask = await append(page, 'append.user-task', 'bpmn:UserTask');
    // Preact sets an option's value as a property, not an attribute: options are found by their text.
    await page.locator('[data-testid=wf-work-order-type] option', { hasText: 'general' }).waitFor({ state: 'attached' });
    await page.selectOption('[data-testid=wf-work-order-type]', 'general');
    await page.selectOption('[data-testid=wf-role]', 'field');
    // Assigned to the crew by name too: a field principal sees only the orders assigned to it.
    await page.fill('[data-testid=wf-field-assignee]', CREW);
    await page.fill('[data-testid=wf-field-due]', 'PT4H');
    await page.fill('[data-testid=wf-field-name]', 'Field visit');
    await select(page, userTask);
    const serviceTask = await append(page, 'append.service-task', 'bpmn:ServiceTask');
    await page.selectOption('[data-testid=wf-action]', 'read-meter');
    await page.locator('[data-testid=wf-action-description]').waitFor();
    await page.fill('[data-testid=wf-field-param-meterId]', '${meterId}');
    await select(page, serviceTask);
    await append(page, 'append.end-event', 'bpmn:EndEvent');
    // An empty spot of the canvas selects nothing: the panel shows the process, its key and name.
    await page.click('[data-testid=wf-canvas] svg[data-element-id]', { position: { x: 800, y: 40 } });
    await page.locator('[data-testid=wf-panel][data-type="bpmn:Process"]').waitFor();
    await page.fill('[data-testid=wf-field-key]', PROCESS);
    await page.fill('[data-testid=wf-field-name]', 'E2E field visit');
    // The bpmn.io logo the licence requires is shown and nothing covers it.
    const logoOnTop = await page.evaluate(`(() => {
      const r = document.querySelector('.bjs-powered-by').getBoundingClientRect();
      const e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return r.width > 0 && e !== null && e.closest('.bjs-powered-by') !== null;
    })()`);
    expect(logoOnTop).toBe(true);

    await page.click('[data-testid=wf-check]');
    await page.locator('[data-testid=wf-outcome][data-outcome=checked]').waitFor();
    // No errors; the unnamed start and end events are warned about (bpmnlint label-required) and do not stop a deployment.
    expect(await page.locator('[data-testid=wf-outcome]').getAttribute('data-errors')).toBe('0');
    expect(await page.locator('[data-testid=wf-outcome] li[data-rule=label-required]').count()).toBeGreaterThan(0);
    await page.click('[data-testid=wf-deploy]');
    await page.locator('[data-testid=wf-outcome][data-outcome=deployed]').waitFor();
    const deployed = (await d.he.get(`/api/v1/workflows/definitions/${PROCESS}`)).body as { xml: string; deployedBy: string };
    expect(deployed.xml).toMatch(/gh:workOrderType="general"/);
    expect(deployed.xml).toMatch(/gh:action="read-meter"/);
    expect(deployed.xml).toContain('gh:params="meterId=${meterId}"');
    await screenshot(page, 'workflow-modeler');

    await page.goto(`/#/workflows/instances?process=${PROCESS}`);
    await page.locator('[data-testid=wf-start-process] option', { hasText: PROCESS }).waitFor({ state: 'attached' });
    await page.selectOption('[data-testid=wf-start-process]', PROCESS);
    await page.fill('[data-testid=wf-start] input[name=variable-name-0]', 'meterId');
    await page.fill('[data-testid=wf-start] input[name=variable-value-0]', METER);
    await page.click('[data-testid=wf-start-submit]');
    const instancePage = page.locator('[data-testid=wf-instance]');
    await instancePage.waitFor();
    const instanceId = await instancePage.getAttribute('data-instance');
    if (instanceId === null) throw new Error('no instance id on the instance page');
    const started = (await d.he.get(`/api/v1/workflows/instances/${instanceId}`)).body as { trigger: { kind: string }; variables: Record<string, unknown> };
    expect([started.trigger.kind, started.variables.meterId]).toEqual(['dashboard', METER]);
    // Waiting in the user task: marked on the diagram.
    await page.locator(`[data-testid=wf-instance-diagram][data-ready=true] .djs-element.gh-waiting[data-element-id="${userTask}"]`).waitFor({ timeout: 15_000 });

    const crew = await d.session(CREW);
    await crew.page.goto('/');
    // A field crew sees its work orders and nothing else.
    await crew.page.locator('[data-testid=wo-mine]').waitFor();
    expect([await crew.page.locator('nav a').count(), await crew.page.locator('nav a').first().getAttribute('data-nav')]).toEqual([1, 'work-orders']);
    const row = crew.page.locator('[data-testid=wo-mine] tr[data-order]');
    await eventually(async () => {
      if (await row.count() > 0) return true;
      await crew.page.reload();
      await crew.page.locator('[data-testid=wo-mine]').waitFor();
      return undefined;
    }, 20_000, 'the work order in the crew inbox');
    await row.first().locator('a').click();
    await crew.page.locator('[data-testid=wo-order]').waitFor();
    if (await crew.page.locator('[data-testid=wo-start]').count() > 0) {
      await crew.page.click('[data-testid=wo-start]');
      await crew.page.locator('[data-testid=wo-order][data-state=in-progress]').waitFor();
    }
    await crew.page.fill('[data-testid=wo-complete-form] input[name=result-note]', 'meter seal checked');
    await crew.page.fill('[data-testid=wo-complete-form] textarea[name=resultText]', 'all well');
    await crew.page.click('[data-testid=wo-complete]');
    await crew.page.locator('[data-testid=wo-order][data-state=done]').waitFor();
    expect(await scrollsSideways(crew.page)).toBe(false);
    await screenshot(crew.page, 'work-order-done');

    // The runtime learns of the order done, reads the meter and ends: the instance view says so.
    await page.reload();
    await page.locator('[data-testid=wf-instance][data-status=completed]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=wf-instance-status]').textContent()).toBe('completed');
    await page.locator(`[data-testid=wf-instance-diagram][data-ready=true] .djs-element.gh-done[data-element-id="${serviceTask}"]`).waitFor();
    const ended = page.locator(`[data-table=history] tr[data-element="${serviceTask}"][data-event=end]`);
    await ended.first().waitFor();
    expect(await ended.count()).toBe(1);
    await screenshot(page, 'workflow-instance-completed');
  }, 180_000);

  test('a viewer has no deploy button, and the API refuses a deployment sent with the viewer cookie', async () => {
    const { page } = await d.session('viewer');
    await page.goto('/#/workflows/new');
    await page.locator('.djs-palette [data-action="create.user-task"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid=wf-check]').waitFor();
    expect(await page.locator('[data-testid=wf-deploy]').count()).toBe(0);
    const status = await page.evaluate(async () => {
      const xml = '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'
        + '<bpmn:process id="viewer-attempt" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>';
      const res = await fetch('/api/v1/workflows/definitions', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-gridhead-csrf': '1' },
        body: JSON.stringify({ xml }),
      });
      return res.status;
    });
    expect(status).toBe(403);
    expect((await d.he.get('/api/v1/workflows/definitions/viewer-attempt')).status).toBe(404);
  });
});
