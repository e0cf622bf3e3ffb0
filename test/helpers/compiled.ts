// Children that run the compiled JavaScript (dist/, the shim, the image's runtime stage) are kept out
// of coverage. tap's process hooks reach every child process whatever environment it is given (they
// travel in NODE_OPTIONS), and a compiled file's source map points at the same src/*.ts the tests
// load through tsx: tsc's JavaScript and esbuild's map to different statement and branch locations,
// so the two reports of one source file, merged, never line up (a fully tested file read 43 %).
// The same code is covered where the tests run it from src/; these children check the build itself.
// The admin build script (admin/build.js, run by the browser tests) stays out for another reason: it
// is a tool, like scripts/, and whether it builds or finds dist/admin current depends on what ran
// before the tests, so its lines would be counted or not by the state of the checkout.

/** Environment entries that switch coverage off in a child (tap's @tapjs/processinfo control). */
export const UNCOVERED = { _TAPJS_PROCESSINFO_COVERAGE_: '0' } as const
