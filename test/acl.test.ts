import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { deviceTopic, isSafeTopicSegment, parseDeviceTopic } from '../core/topics.js';
import { accessOf, mayPublish, maySubscribe, pilotWindow } from '../gateway/acl.js';

const device: DeviceContext = {
  deviceId: 'dev_a',
  pilotId: 'pi_1',
  companyId: 'co_1',
  testbedId: 'helsinki',
  profile: 'noise',
  pilotStartsAt: null,
  pilotEndsAt: null,
};

describe('topics', () => {
  it('builds and parses the device topics', () => {
    expect(deviceTopic('dev_a', 'readings')).toBe('devices/dev_a/readings');
    expect(deviceTopic('dev_a', 'errors')).toBe('devices/dev_a/errors');
    expect(parseDeviceTopic('devices/dev_a/readings')).toEqual({ deviceId: 'dev_a', rest: 'readings' });
    expect(parseDeviceTopic('devices/dev_a/x/y')).toEqual({ deviceId: 'dev_a', rest: 'x/y' });
  });

  it.each(['', 'a/b', 'a+', '#', 'a b', 'x'.repeat(129), 'ä'])('refuses %j as a topic segment', (segment) => {
    expect(isSafeTopicSegment(segment)).toBe(false);
    expect(() => deviceTopic(segment, 'readings')).toThrow();
  });

  it.each(['devices', 'devices/', 'devices/dev_a', 'device/dev_a/readings', 'devices/+/readings', 'devices/#', '/devices/dev_a/readings'])(
    'does not parse %j as a device topic',
    (topic) => {
      const parsed = parseDeviceTopic(topic);
      expect(parsed === undefined || parsed.rest === '').toBe(true);
    },
  );
});

describe('topic policy', () => {
  it.each([
    ['devices/dev_a/readings', true],
    ['devices/dev_b/readings', false],
    ['devices/dev_a/errors', false],
    ['devices/dev_a/readings/extra', false],
    ['devices/dev_a', false],
    ['devices/dev_ab/readings', false],
    ['Devices/dev_a/readings', false],
    ['city/helsinki', false],
    ['$SYS/broker', false],
  ])('publish to %s: %s', (topic, allowed) => {
    expect(mayPublish(accessOf(device), topic)).toBe(allowed);
  });

  it.each([
    ['devices/dev_a/errors', true],
    ['devices/dev_a/#', true],
    ['devices/dev_a/+', true],
    ['devices/dev_a/readings', true],
    ['devices/dev_b/errors', false],
    ['devices/+/errors', false],
    ['devices/#', false],
    ['devices/+/#', false],
    ['#', false],
    ['+/dev_a/errors', false],
    ['devices/dev_a', false],
    ['devices/dev_a/', false],
    ['$SYS/#', false],
  ])('subscribe to %s: %s', (filter, allowed) => {
    expect(maySubscribe(accessOf(device), filter)).toBe(allowed);
  });

  it('knows whether the pilot is running', () => {
    const windowed = { ...device, pilotStartsAt: 1000, pilotEndsAt: 2000 };
    expect(pilotWindow(windowed, 999)).toBe('not-started');
    expect(pilotWindow(windowed, 1000)).toBe('active');
    expect(pilotWindow(windowed, 1999)).toBe('active');
    expect(pilotWindow(windowed, 2000)).toBe('ended');
    expect(pilotWindow(device, 0)).toBe('active');
    expect(pilotWindow({ ...device, pilotEndsAt: 5 }, 4)).toBe('active');
  });
});
