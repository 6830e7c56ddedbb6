import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { commandResultTopic, deviceTopic, filterMatches, isSafeTopicSegment, parseCommandResultTopic, parseDeviceTopic } from '../core/topics.js';
import { accessOf, maySubscribe, pilotWindow, publishTarget } from '../gateway/acl.js';

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
    expect(deviceTopic('dev_a', 'commands')).toBe('devices/dev_a/commands');
    expect(commandResultTopic('dev_a', 'cmd_1')).toBe('devices/dev_a/commands/cmd_1/result');
    expect(parseCommandResultTopic('devices/dev_a/commands/cmd_1/result')).toEqual({ deviceId: 'dev_a', commandId: 'cmd_1' });
    expect(() => commandResultTopic('dev_a', 'a/b')).toThrow();
  });

  it.each([
    'devices/dev_a/commands/cmd_1',
    'devices/dev_a/commands/cmd_1/result/x',
    'devices/dev_a/commands/+/result',
    'devices/dev_a/commands/#',
    'devices/dev_a/command/cmd_1/result',
    'devices/dev_a/commands//result',
    'devices/+/commands/cmd_1/result',
    'devices/dev_a/readings',
  ])('does not parse %j as a command result topic', (topic) => {
    expect(parseCommandResultTopic(topic)).toBeUndefined();
  });

  it.each([
    ['devices/dev_a/commands', 'devices/dev_a/commands', true],
    ['devices/dev_a/#', 'devices/dev_a/commands', true],
    ['devices/dev_a/+', 'devices/dev_a/commands', true],
    ['devices/+/commands', 'devices/dev_a/commands', true],
    ['#', 'devices/dev_a/commands', true],
    ['devices/dev_a/commands/#', 'devices/dev_a/commands', true],
    ['devices/dev_a/commands/+', 'devices/dev_a/commands', false],
    ['devices/dev_a/readings', 'devices/dev_a/commands', false],
    ['devices/dev_b/#', 'devices/dev_a/commands', false],
    ['devices/dev_a', 'devices/dev_a/commands', false],
    ['devices/dev_a/commands/x', 'devices/dev_a/commands', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
  ])('filter %s matches %s: %s', (filter, topic, matches) => {
    expect(filterMatches(filter, topic)).toBe(matches);
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
    ['devices/dev_a/readings', { kind: 'readings' }],
    ['devices/dev_a/commands/cmd_1/result', { kind: 'result', commandId: 'cmd_1' }],
    ['devices/dev_b/readings', undefined],
    ['devices/dev_a/errors', undefined],
    ['devices/dev_a/readings/extra', undefined],
    ['devices/dev_a', undefined],
    ['devices/dev_ab/readings', undefined],
    ['Devices/dev_a/readings', undefined],
    ['city/helsinki', undefined],
    ['$SYS/broker', undefined],
    ['devices/dev_a/commands', undefined],
    ['devices/dev_a/commands/cmd_1', undefined],
    ['devices/dev_a/commands/cmd_1/result/x', undefined],
    ['devices/dev_a/commands/+/result', undefined],
    ['devices/dev_a/commands/#', undefined],
    ['devices/dev_b/commands/cmd_1/result', undefined],
    ['devices/dev_ab/commands/cmd_1/result', undefined],
    ['devices/dev_a/status', undefined],
  ])('publish to %s: %j', (topic, target) => {
    expect(publishTarget(accessOf(device), topic)).toEqual(target);
  });

  it.each([
    ['devices/dev_a/errors', true],
    ['devices/dev_a/#', true],
    ['devices/dev_a/+', true],
    ['devices/dev_a/readings', true],
    ['devices/dev_a/commands', true],
    ['devices/dev_a/commands/+/result', true],
    ['devices/dev_b/commands', false],
    ['devices/+/commands', false],
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
