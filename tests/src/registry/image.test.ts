/**
 * The compact topology image: meters in reusable slots, read back as the objects they were
 * put in as; a meter found by terminal address, by terminal and by area after it moved; pages
 * in id order that skip and repeat nothing while meters come and go between them.
 */
import { describe, expect, it } from 'vitest';
import { areaId, meterId, terminalId, type Area, type AreaId, type Meter } from '../../../src/domain/index.js';
import { TopologyImage } from '../../../src/registry/image.js';

const meter = (id: string, terminal: string, address: string, extra: Partial<Meter> = {}): Meter => ({
  id: meterId(id), name: id, terminalId: terminalId(terminal), address, ctRatio: 1, ptRatio: 1,
  areaId: null, protected: false, customerRef: null, accountRef: null, ...extra,
});
const area = (id: string, parent: string | null): Area => ({
  id: areaId(id), name: id, kind: parent === null ? 'region' : 'transformer', parentId: parent === null ? null : areaId(parent), transformerKva: null,
});
const areas = (...ids: string[]): ReadonlySet<AreaId> => new Set(ids.map(areaId));

/** Every page of `pageOf` from the start, with `between` run after each. */
function allPages(pageOf: (after: string | undefined) => { items: { id: string }[]; next: string | null }, between: (n: number) => void = () => undefined): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; ; n++) {
    const p = pageOf(cursor);
    seen.push(...p.items.map((m) => m.id));
    if (p.next === null) return seen;
    expect(p.next).toBe(p.items[p.items.length - 1]?.id);
    cursor = p.next;
    between(n);
  }
}

describe('the topology image', () => {
  it('gives a deleted meter\'s slot to the next meter, which reads back as itself only', () => {
    const image = new TopologyImage();
    image.setMeter(meter('a', 't1', '1', { customerRef: 'C-a', nominalVoltage: 230 }), 1);
    image.setMeter(meter('b', 't1', '2'), 2);
    image.removeMeter(meterId('a'));
    image.setMeter(meter('c', 't2', '9'), 3);

    expect(image.meterCount).toBe(2);
    expect(image.meter(meterId('a'))).toBeUndefined();
    expect(image.meterKey(meterId('a'))).toBeUndefined();
    expect(image.meterAt('t1', '1')).toBeUndefined();
    expect(image.meter(meterId('c'))).toEqual(meter('c', 't2', '9'));
    expect(image.meterKey(meterId('c'))).toBe(3);
    expect(image.metersOfTerminal(terminalId('t1')).map((m) => m.id)).toEqual(['b']);
    expect(image.hasMetersOn(terminalId('t2'))).toBe(true);
  });

  it('reads a meter back as put, optional fields absent or present, names and addresses as written', () => {
    const image = new TopologyImage();
    const plain = meter('p', 't1', '7');
    const full = meter('f', 't1', '007', {
      name: 'Feeder pillar 3', ctRatio: 40, ptRatio: 100.5, nominalVoltage: 57.7, maxCurrent: 6, areaId: areaId('tx'), protected: true,
      customerRef: 'C-1', accountRef: 'A-1',
    });
    const named = meter('n', 't1', 'kitchen-0x1F', { name: 'n2', maxCurrent: 60 });
    for (const m of [plain, full, named]) image.setMeter(m, 5);
    expect(image.meter(meterId('p'))).toStrictEqual(plain);
    expect('nominalVoltage' in (image.meter(meterId('p')) ?? {})).toBe(false);
    expect(image.meter(meterId('f'))).toStrictEqual(full);
    expect(image.meter(meterId('n'))).toStrictEqual(named);
    expect(image.meterAt('t1', '7')?.id).toBe('p');
    expect(image.meterAt('t1', '007')?.id).toBe('f');
    expect(image.meterAt('t1', 'kitchen-0x1F')?.id).toBe('n');

    expect(image.setMeter(full, 5)).toBe(false);
    expect(image.setMeter(full, undefined)).toBe(false);
    expect(image.setMeter({ ...full, maxCurrent: 5 }, undefined)).toBe(true);
    expect(image.meterKey(meterId('f'))).toBe(5);
    const { nominalVoltage: _dropped, ...withoutRating } = full;
    image.setMeter(withoutRating, 6);
    expect(image.meter(meterId('f'))).toStrictEqual(withoutRating);
    expect(image.meterKey(meterId('f'))).toBe(6);
  });

  it('finds a meter by terminal address after it moved between terminals and addresses, on small terminals and large ones', () => {
    const image = new TopologyImage();
    for (let i = 0; i < 100; i++) image.setMeter(meter(`big${i}`, 'big', String(i)), i);
    image.setMeter(meter('x', 'small', '1'), 1000);

    image.setMeter(meter('x', 'big', '100'), undefined);
    expect(image.meterAt('small', '1')).toBeUndefined();
    expect(image.hasMetersOn(terminalId('small'))).toBe(false);
    expect(image.meterAt('big', '100')?.id).toBe('x');

    image.setMeter(meter('big5', 'small', '1'), undefined);
    image.setMeter(meter('big6', 'big', '5'), undefined);
    expect(image.meterAt('big', '6')).toBeUndefined();
    expect(image.meterAt('big', '5')?.id).toBe('big6');
    expect(image.meterAt('small', '1')?.id).toBe('big5');
    expect(image.metersOfTerminal(terminalId('small')).map((m) => m.id)).toEqual(['big5']);

    image.removeMeter(meterId('big6'));
    expect(image.meterAt('big', '5')).toBeUndefined();
    for (let i = 0; i < 100; i++) image.removeMeter(meterId(`big${i}`));
    image.removeMeter(meterId('x'));
    // The large terminal's number is given again: nothing of its address map may remain.
    image.setMeter(meter('y', 'other', '3'), 2000);
    expect(image.meterAt('other', '3')?.id).toBe('y');
    expect(image.meterAt('other', '50')).toBeUndefined();
    expect(image.meterAt('big', '3')).toBeUndefined();
  });

  it('keeps each area\'s meters as meters move between areas and go, and walks a subtree through its children', () => {
    const image = new TopologyImage();
    for (const a of [area('r', null), area('tx1', 'r'), area('tx2', 'r'), area('other', null)]) image.setArea(a);
    expect([...image.areaSubtree(areaId('r'))].sort()).toEqual(['r', 'tx1', 'tx2']);
    image.setMeter(meter('m1', 't', '1', { areaId: areaId('tx1') }), 1);
    image.setMeter(meter('m2', 't', '2', { areaId: areaId('tx1') }), 2);
    image.setMeter(meter('m3', 't', '3', { areaId: areaId('tx2') }), 3);
    image.setMeter(meter('m4', 't', '4'), 4);

    image.setMeter(meter('m1', 't', '1', { areaId: areaId('tx2') }), undefined);
    image.setMeter(meter('m2', 't', '2'), undefined);
    image.removeMeter(meterId('m3'));
    const ids = (set: ReadonlySet<AreaId>) => image.listMeters({ areas: set }).map((m) => m.id).sort();
    expect(ids(areas('tx1'))).toEqual([]);
    expect(ids(areas('tx2'))).toEqual(['m1']);
    expect(ids(image.areaSubtree(areaId('r')))).toEqual(['m1']);
    expect(image.anyMeterIn(areaId('tx1'))).toBeUndefined();

    image.setArea(area('tx2', 'other'));
    expect([...image.areaSubtree(areaId('r'))].sort()).toEqual(['r', 'tx1']);
    expect(ids(image.areaSubtree(areaId('other')))).toEqual(['m1']);
    image.removeArea(areaId('tx1'));
    expect([...image.childAreas(areaId('r'))]).toEqual([]);
  });

  it('names the ids of an area\'s own meters only, not its sub-areas\', after moves and deletes', () => {
    const image = new TopologyImage();
    for (const a of [area('r', null), area('tx1', 'r')]) image.setArea(a);
    image.setMeter(meter('m1', 't', '1', { areaId: areaId('r') }), 1);
    image.setMeter(meter('m2', 't', '2', { areaId: areaId('tx1') }), 2);
    image.setMeter(meter('m3', 't', '3', { areaId: areaId('tx1') }), 3);
    image.setMeter(meter('m4', 't', '4', { areaId: areaId('tx1') }), 4);
    image.setMeter(meter('m2', 't', '2', { areaId: areaId('r') }), undefined);
    image.removeMeter(meterId('m3'));
    expect([...image.meterIdsIn(areaId('r'))].sort()).toEqual(['m1', 'm2']);
    expect([...image.meterIdsIn(areaId('tx1'))]).toEqual(['m4']);
    expect([...image.meterIdsIn(areaId('nowhere'))]).toEqual([]);
  });

  it('pages every meter in id order, skipping and repeating none that stayed, while meters are added and deleted between pages', () => {
    const image = new TopologyImage();
    const id = (i: number) => `m${String(i).padStart(5, '0')}`;
    // Put in out of order, so the id order is built from unsorted additions.
    for (let i = 0; i < 1000; i++) image.setMeter(meter(id((i * 7919) % 1000), 't', String(i)), i);
    const deleted = new Set<string>();
    const seen = allPages((after) => image.pageMeters({}, after, 37), (n) => {
      image.setMeter(meter(`${id(n * 30)}a`, 'u', String(n)), 5000 + n);
      image.setMeter(meter(`z${n}`, 'u', `z${n}`), 6000 + n);
      const gone = id(999 - n);
      image.removeMeter(meterId(gone));
      deleted.add(gone);
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
    for (let i = 0; i < 1000; i++) if (!deleted.has(id(i))) expect(seen).toContain(id(i));
  });

  it('pages the meters of a terminal, of an area subtree small or wide, and of both, with next null on the last page', () => {
    const image = new TopologyImage();
    for (const a of [area('r', null), area('wide', 'r'), area('narrow', 'r')]) image.setArea(a);
    for (let i = 0; i < 400; i++) {
      const where = i % 100 === 0 ? 'narrow' : 'wide';
      image.setMeter(meter(`m${String(i).padStart(3, '0')}`, `t${i % 4}`, String(i), { areaId: areaId(where) }), i);
    }
    const expected = (keep: (i: number) => boolean) => Array.from({ length: 400 }, (_, i) => i).filter(keep).map((i) => `m${String(i).padStart(3, '0')}`);

    expect(allPages((after) => image.pageMeters({ terminalId: terminalId('t1') }, after, 10))).toEqual(expected((i) => i % 4 === 1));
    expect(allPages((after) => image.pageMeters({ areas: areas('narrow') }, after, 2))).toEqual(expected((i) => i % 100 === 0));
    expect(allPages((after) => image.pageMeters({ areas: areas('wide') }, after, 33))).toEqual(expected((i) => i % 100 !== 0));
    expect(allPages((after) => image.pageMeters({ areas: image.areaSubtree(areaId('r')) }, after, 50))).toEqual(expected(() => true));
    expect(allPages((after) => image.pageMeters({ areas: areas('wide'), terminalId: terminalId('t0') }, after, 7))).toEqual(expected((i) => i % 4 === 0 && i % 100 !== 0));
    // A last page exactly full has no next: the cursor semantics the dashboard relies on.
    expect(image.pageMeters({ areas: areas('narrow') }, undefined, 4)).toMatchObject({ next: null });
    expect(image.pageMeters({ areas: areas('wide') }, 'm397', 2)).toEqual({ items: [image.meter(meterId('m398')), image.meter(meterId('m399'))], next: null });
    expect(image.pageMeters({}, 'm397', 2).next).toBeNull();
    expect(image.pageMeters({ terminalId: terminalId('none') }, undefined, 5)).toEqual({ items: [], next: null });
  });

  it('pages terminals and areas in id order after a cursor', () => {
    const image = new TopologyImage();
    for (const id of ['c', 'a', 'd', 'b']) image.setTerminal({ id: terminalId(id), name: id, protocol: 'mqtt', enabled: true, profiles: [], mqtt: {} });
    image.removeTerminal(terminalId('c'));
    expect(allPages((after) => image.pageTerminals(after, 1))).toEqual(['a', 'b', 'd']);
    for (const id of ['y', 'x', 'z']) image.setArea(area(id, null));
    expect(image.pageAreas('x', 5)).toEqual({ items: [area('y', null), area('z', null)], next: null });
  });

  it('walks every meter in slices by slot with its terminal and area, a meter added or deleted between slices handed at most once', () => {
    const image = new TopologyImage();
    for (let i = 0; i < 10; i++) image.setMeter(meter(`m${i}`, `t${i % 3}`, String(i), { areaId: i % 2 === 0 ? areaId('tx') : null }), i);
    const seen: string[] = [];
    let next = image.visitMeters(0, 4, (id, terminal, area) => { seen.push(`${id}@${terminal}/${area ?? '-'}`); });
    expect(seen).toEqual(['m0@t0/tx', 'm1@t1/-', 'm2@t2/tx', 'm3@t0/-']);
    image.removeMeter(meterId('m6'));
    image.removeMeter(meterId('m1'));
    image.setMeter(meter('late', 't9', '1'), 11);
    while (next >= 0) next = image.visitMeters(next, 4, (id) => { seen.push(id); });
    // The slot m1 left went to the late meter before the walk; m6's slot stayed empty.
    expect(seen.slice(4)).toEqual(['m4', 'm5', 'm7', 'm8', 'm9']);
    expect(image.visitMeters(0, 100, () => undefined)).toBe(-1);
  });

  it('finds a terminal\'s meters after its last meter left and another joined it, and apart from a terminal given its old number', () => {
    const image = new TopologyImage();
    image.setMeter(meter('a', 'tA', '1'), 1);
    image.removeMeter(meterId('a'));
    image.setMeter(meter('c', 'tA', '1'), 3);
    image.setMeter(meter('b', 'tB', '1'), 2);
    image.setMeter(meter('d', 'tB', '2'), 4);
    expect(image.metersOfTerminal(terminalId('tA')).map((m) => m.id)).toEqual(['c']);
    expect(image.metersOfTerminal(terminalId('tB')).map((m) => m.id)).toEqual(['b', 'd']);
    expect(image.meterAt('tA', '1')?.id).toBe('c');
    expect(image.meterAt('tB', '1')?.id).toBe('b');
  });
});
