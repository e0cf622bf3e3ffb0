// Loaded by every test process and every child it starts from src/ (.taprc's node-arg, after
// --import=tsx, travels in process.execArgv). It makes the coverage of TypeScript files real.
//
// tsx's inline source maps carry `sourcesContent: [null]` (it leaves the source text out). The
// coverage report (c8, through v8-to-istanbul) takes a one-entry sourcesContent as the original
// text, so it read every tsx-loaded file as empty: one statement, "100 %", whatever ran. These
// hooks drop that field from the map of each TypeScript file, and the report reads the file itself.
import { register } from 'node:module'

register('./source-maps-hooks.mjs', import.meta.url)
