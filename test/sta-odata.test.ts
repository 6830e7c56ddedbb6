import { describe, expect, it } from 'vitest';
import { evaluate, parseExpand, parseFilter, parseOptions, parseOrderBy, parsePath } from '../sensorthings/index.js';
import { timeRangeOf } from '../sensorthings/time-range.js';

/** Evaluates a $filter against a plain object: path segments walk its keys. */
const test = (filter: string, entity: Record<string, unknown>) =>
  evaluate(parseFilter(filter), (path) => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], entity));
const obs = { result: 21.5, phenomenonTime: '2025-04-01T10:00:00.000Z', name: 'Street 7 temperature', properties: { testbedId: 'espoo' } };
const point = { type: 'Point', coordinates: [24.9, 60.2] };
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  return undefined;
};

describe('OData $filter (OGC 18-088 9.3.3.5)', () => {
  it('compares, combines and computes with OData precedence', () => {
    expect(test('result gt 20 and result lt 22', obs)).toBe(true);
    expect(test('result gt 20 and result lt 21 or name eq null', obs)).toBe(false);
    expect(test('not (result le 21.5)', obs)).toBe(false);
    expect(test('result add 1 mul 2 eq 23.5', obs)).toBe(true); // mul binds tighter than add
    expect(test('(result add 1) mul 2 eq 45', obs)).toBe(true);
    expect(test('result mod 2 eq 1.5 and result div 0 eq null', obs)).toBe(true);
    expect(test('result sub -1.5 eq 23', obs)).toBe(true);
    expect(test("properties/testbedId eq 'espoo'", obs)).toBe(true);
  });

  it('has string functions: substringof, startswith, endswith, tolower, length, concat', () => {
    expect(test("substringof('7 temp', name)", obs)).toBe(true);
    expect(test("startswith(name, 'Street') and endswith(name, 'ture')", obs)).toBe(true);
    expect(test("tolower(name) eq 'street 7 temperature' and length(name) eq 20", obs)).toBe(true);
    expect(test("concat(name, '!') eq 'Street 7 temperature!'", obs)).toBe(true);
    expect(test("name eq 'It''s'", { name: "It's" })).toBe(true);
  });

  it('compares times with unquoted time literals, also on intervals', () => {
    expect(test('phenomenonTime ge 2025-04-01T10:00:00Z and phenomenonTime lt 2025-04-01T12:00:00+02:00', obs)).toBe(false);
    expect(test('phenomenonTime ge 2025-04-01T10:00:00Z and phenomenonTime lt 2025-04-01T12:00:01+02:00', obs)).toBe(true);
    expect(test('hour(phenomenonTime) eq 10 and year(phenomenonTime) eq 2025', obs)).toBe(true);
    const period = { phenomenonTime: '2025-01-01T00:00:00.000Z/2025-02-01T00:00:00.000Z' };
    expect(test('phenomenonTime gt 2024-12-31T00:00:00Z', period)).toBe(true);
    expect(test('phenomenonTime lt 2025-01-15T00:00:00Z', period)).toBe(false);
  });

  it('tests points against polygons: geo.intersects, st_intersects, st_within', () => {
    const box = "geography'POLYGON((24 60, 25 60, 25 61, 24 61, 24 60))'";
    expect(test(`geo.intersects(location, ${box})`, { location: point })).toBe(true);
    expect(test(`st_within(location, ${box})`, { location: { type: 'Point', coordinates: [25.5, 60.2] } })).toBe(false);
    expect(test(`st_intersects(location, geography'POINT(24.9 60.2)')`, { location: point })).toBe(true);
    expect(test(`st_within(location, ${box})`, { location: null })).toBe(false);
  });

  it('names what it does not support, and says where a query does not parse', () => {
    expect(code(() => parseFilter('geo.distance(location, x) lt 5'))).toMatchObject({
      code: 'TESTBED_STA_UNSUPPORTED',
      message: expect.stringContaining('geo.distance()'),
    });
    expect(code(() => parseFilter("name has 'x'"))).toMatchObject({ code: 'TESTBED_STA_UNSUPPORTED', message: expect.stringContaining('operator has') });
    expect(code(() => parseFilter("st_within(location, geography'LINESTRING(1 2, 3 4)')"))).toMatchObject({ code: 'TESTBED_STA_UNSUPPORTED' });
    expect(code(() => parseFilter('result gt'))).toMatchObject({ code: 'TESTBED_STA_BAD_QUERY' });
    expect(code(() => parseFilter("name eq 'open"))).toMatchObject({ code: 'TESTBED_STA_BAD_QUERY' });
    expect(code(() => parseFilter('result gt 1)'))).toMatchObject({ code: 'TESTBED_STA_BAD_QUERY' });
  });

  it('reads the time range an Observations filter confines itself to, for the store', () => {
    const t = (s: string) => Date.parse(s);
    expect(timeRangeOf(parseFilter('phenomenonTime ge 2025-04-01T00:00:00Z and result gt 3 and phenomenonTime lt 2025-04-02T00:00:00Z'))).toEqual({
      from: t('2025-04-01T00:00:00Z'),
      to: t('2025-04-02T00:00:00Z'),
    });
    expect(timeRangeOf(parseFilter('2025-04-01T00:00:00Z lt resultTime'))).toMatchObject({ from: t('2025-04-01T00:00:00Z') + 1 });
    // Under `or` the range cannot be narrowed: the whole time is read (and the filter still applies).
    expect(timeRangeOf(parseFilter('phenomenonTime ge 2025-04-01T00:00:00Z or result gt 3')).from).toBe(0);
  });
});

describe('query options, $expand and resource paths', () => {
  it('parses $top, $skip, $count, $orderby, $select and ignores custom options', () => {
    const o = parseOptions(new URLSearchParams('$top=5&$skip=10&$count=true&$orderby=phenomenonTime desc,result&$select=id,result&foo=bar').entries());
    expect(o).toMatchObject({ top: 5, skip: 10, count: true, select: ['id', 'result'] });
    expect(o.orderby.map((t) => [t.by, t.desc])).toEqual([
      [{ k: 'path', p: ['phenomenonTime'] }, true],
      [{ k: 'path', p: ['result'] }, false],
    ]);
    expect(parseOrderBy('name asc')).toEqual([{ by: { k: 'path', p: ['name'] }, desc: false }]);
    expect(code(() => parseOptions([['$top', '-1']]))).toMatchObject({ code: 'TESTBED_STA_BAD_QUERY' });
    expect(code(() => parseOptions([['$resultFormat', 'dataArray']]))).toMatchObject({
      code: 'TESTBED_STA_UNSUPPORTED',
      message: expect.stringContaining('$resultFormat'),
    });
  });

  it('parses nested $expand with its own options, and the path form', () => {
    const items = parseExpand("Datastreams($top=2;$filter=name eq 'a,b';$expand=Observations($orderby=result desc;$top=1),Sensor),Locations");
    expect(items.map((i) => i.nav)).toEqual(['Datastreams', 'Locations']);
    const ds = items[0]!.options;
    expect(ds.top).toBe(2);
    expect(ds.expand.map((i) => [i.nav, i.options.top])).toEqual([
      ['Observations', 1],
      ['Sensor', undefined],
    ]);
    const path = parseExpand('Datastreams/ObservedProperty($select=name)');
    expect(path[0]!.nav).toBe('Datastreams');
    expect(path[0]!.options.expand[0]).toMatchObject({ nav: 'ObservedProperty', options: { select: ['name'] } });
    expect(code(() => parseExpand('Datastreams($top=1'))).toMatchObject({ code: 'TESTBED_STA_BAD_QUERY' });
  });

  it('parses resource paths with string and number keys', () => {
    expect(parsePath("/Things('dev_1')/Datastreams")).toEqual([{ name: 'Things', id: 'dev_1' }, { name: 'Datastreams' }]);
    expect(parsePath("/Things('it''s')/name/$value")).toEqual([{ name: 'Things', id: "it's" }, { name: 'name' }, { name: '$value' }]);
    expect(parsePath('/Things(7)')).toEqual([{ name: 'Things', id: '7' }]);
    expect(parsePath("/Things('x')/Datastreams/$ref")).toEqual([
      { name: 'Things', id: 'x' },
      { name: 'Datastreams', id: undefined },
      { name: '$ref', id: undefined },
    ]);
  });
});
