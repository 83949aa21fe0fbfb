// /app/spends: the spends waiting for me, live (spends.js).
import { requireConsumer } from "./consumer.js";
import { watchSpends } from "./spends.js";

if (requireConsumer()) watchSpends();
