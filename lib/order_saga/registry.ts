/** The saga types the orchestrator runs, by saga type: today the order saga alone. */
import type { EventType } from "../messages/mod.ts";
import { sagaRegistry } from "../saga/mod.ts";
import { ORDER_SAGA } from "./definition.ts";

/** Every saga definition the orchestrator (and `sagactl`, to read its sagas) knows. */
export const ORCHESTRATOR_SAGAS = sagaRegistry<EventType>([ORDER_SAGA]);
