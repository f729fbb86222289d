/**
 * Where each step's replies arrive, for deadlines held per reply partition (DESIGN §4, the SQL
 * in lib/orchestrator_store/reply_partitions.ts): the reply topic of every part of every step
 * of a definition, from the event catalogue.
 */
import { EVENTS, type EventType, type Topic } from "../messages/mod.ts";
import type { ReplyRoute } from "../orchestrator_store/mod.ts";
import type { AnySagaDefinition } from "../saga/mod.ts";

/** The reply topic of every part of every step of `definition`, from the event catalogue. */
export function replyRoutes(definition: AnySagaDefinition<EventType>): ReplyRoute[] {
  const routes: ReplyRoute[] = [];
  definition.steps.forEach((step, index) => {
    const parts = [["forward", step] as const, ["compensation", step.compensation] as const];
    for (const [phase, part] of parts) {
      if (part === undefined) continue;
      const topic = EVENTS[part.replies.success].topic;
      if (EVENTS[part.replies.failure].topic !== topic) {
        throw new TypeError(
          `Cannot route the replies of step "${part.name}": ${part.replies.success} and ` +
            `${part.replies.failure} travel on different topics`,
        );
      }
      routes.push({ sagaType: definition.name, step: index, phase, topic });
    }
  });
  return routes;
}

/** The reply topics of `routes`, each once. */
export function replyTopics(routes: readonly ReplyRoute[]): Topic[] {
  return [...new Set(routes.map((route) => route.topic))];
}
