/**
 * The saga types a process runs, by saga type (`SagaDefinition.name`, stored as
 * `sagas.saga_type`): the orchestrator starts a saga from the definition whose start event came
 * in, and moves each saga by the definition its type names.
 */
import type { SagaDefinition } from "./definition.ts";

/**
 * A definition of any data and start body: each is only ever given the data it made itself,
 * which a registry cannot express per entry, hence `any` here and nowhere else.
 */
// deno-lint-ignore no-explicit-any
export type AnySagaDefinition<E extends string = string> = SagaDefinition<any, any, E>;

/** Definitions by saga type, and by the event type that starts them. */
export interface SagaRegistry<E extends string = string> {
  /** Every definition, in the order given. */
  readonly definitions: readonly AnySagaDefinition<E>[];
  /** The definition of a saga type; throws naming the type when there is none. */
  byType(sagaType: string): AnySagaDefinition<E>;
  /** The definition `eventType` starts, or undefined when it starts none. */
  startedBy(eventType: string): AnySagaDefinition<E> | undefined;
}

/** A registry of `definitions`; throws when two share a saga type or a start event. */
export function sagaRegistry<E extends string>(
  definitions: readonly AnySagaDefinition<E>[],
): SagaRegistry<E> {
  const byType = new Map<string, AnySagaDefinition<E>>();
  const byStart = new Map<string, AnySagaDefinition<E>>();
  for (const definition of definitions) {
    const starting = byStart.get(definition.start.eventType);
    if (byType.has(definition.name)) {
      throw new TypeError(`Cannot register saga type "${definition.name}" twice`);
    }
    if (starting !== undefined) {
      throw new TypeError(
        `Cannot register saga type "${definition.name}": ${definition.start.eventType} starts "${starting.name}" already`,
      );
    }
    byType.set(definition.name, definition);
    byStart.set(definition.start.eventType, definition);
  }
  return {
    definitions: [...definitions],
    byType(sagaType) {
      const definition = byType.get(sagaType);
      if (definition === undefined) {
        throw new RangeError(
          `Cannot run a saga of type "${sagaType}": no definition is registered for it (known: ${
            [...byType.keys()].join(", ")
          })`,
        );
      }
      return definition;
    },
    startedBy(eventType) {
      return byStart.get(eventType);
    },
  };
}
