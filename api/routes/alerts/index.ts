import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError } from '../../../core/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { DEFAULT_QUERY_LIMIT } from '../../limits.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import {
  alertRuleComponent,
  alertRuleParamsSchema,
  alertRulesResponseSchema,
  alertsQuerySchema,
  alertsResponseSchema,
  newAlertRuleSchema,
} from '../../schemas/fleet.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_RULE = "No alert rule with this id is visible to this API key; check the id, and that the key's scope includes the rule";
const MANAGERS = ['admin', 'operator', 'company'] as const;

/**
 * Alert rules and alerts, scoped like everything else: a company's rule covers
 * one of its pilots, an operator's a testbed of its own (or a pilot in it).
 */
export const alertRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;

  app.post(
    '/alert-rules',
    {
      config: changes(...MANAGERS),
      schema: {
        tags: ['alerts'],
        summary: 'Create an alert rule on a pilot (companies, operators) or a whole testbed (operators)',
        description:
          'An alert opens once when the condition starts to hold (per device for device conditions), stays open while it holds, and ' +
          'resolves once it has been clear for holdSeconds. Opening and resolving are published as alert.opened and alert.resolved ' +
          '(webhooks, and `event: alert` on the pilot live stream).',
        body: newAlertRuleSchema,
        response: { 201: json('The rule', alertRuleComponent), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { pilotId, testbedId, ...rest } = request.body;
      const rule = await registry.createAlertRule(callerOf(request).scope, { ...rest, pilotId, testbedId: testbedId ?? '' });
      noteTarget(request, { testbedId: rule.testbedId, ...(rule.pilotId ? { pilotId: rule.pilotId } : {}) });
      return reply.code(201).send(rule);
    },
  );

  app.get(
    '/alert-rules',
    {
      config: reads(...MANAGERS),
      schema: {
        tags: ['alerts'],
        summary: 'List the alert rules the key sees',
        response: { 200: json('The rules', alertRulesResponseSchema), ...errorResponses },
      },
    },
    async (request) => ({ rules: await registry.listAlertRules(callerOf(request).scope) }),
  );

  app.delete(
    '/alert-rules/:ruleId',
    {
      config: changes(...MANAGERS),
      schema: {
        tags: ['alerts'],
        summary: 'Delete an alert rule; its open alerts resolve',
        params: alertRuleParamsSchema,
        response: { 200: json('The deleted rule', alertRuleComponent), ...errorResponses },
      },
    },
    async (request) => {
      const rule = await registry.deleteAlertRule(callerOf(request).scope, request.params.ruleId);
      if (!rule) throw new TestbedError('TESTBED_NOT_FOUND', NO_RULE);
      return rule;
    },
  );

  app.get(
    '/alerts',
    {
      config: reads(...MANAGERS),
      schema: {
        tags: ['alerts'],
        summary: 'List the alerts of the rules the key sees, newest first',
        querystring: alertsQuerySchema,
        response: { 200: json('The alerts', alertsResponseSchema), ...errorResponses },
      },
    },
    async (request) => ({ alerts: await registry.listAlerts(callerOf(request).scope, request.query.state, request.query.limit ?? DEFAULT_QUERY_LIMIT) }),
  );
};
