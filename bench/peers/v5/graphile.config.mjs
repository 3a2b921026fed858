// PostGraphile 5 for bench/bench_graphql.py only: Amber preset + connection filter, serving
// the bench database read from BENCH_PG_URL on 127.0.0.1:BENCH_PORT.
// PgIndexBehaviorsPlugin is disabled so that filters and relations on unindexed columns
// exist, as they do in PostGraphile 4 (the benchmark's queries use the same fields in both).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

export default {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ connectionString: process.env.BENCH_PG_URL, schemas: ["public"] })],
  grafserv: { host: "127.0.0.1", port: Number(process.env.BENCH_PORT), graphiql: false },
  grafast: { explain: false },
};
