// /app/spends: the spends waiting for me, live (pending-spends.js).
import { requireConsumer } from "./consumer.js";
import { watchSpends } from "./pending-spends.js";

if (requireConsumer()) watchSpends();
