// Package doccheck keeps the Go code in README.md and docs/*.md compiling.
// Its test extracts every ```go block, builds it with the module's own
// packages (through a go build -overlay, so nothing is written into the
// tree) and fails with the file and line of the block for any error. A
// second test builds the README's complete program, runs it and talks to it
// over WebSocket.
//
// # Writing Go blocks in the docs
//
//   - A block that starts with a package clause is compiled as a file,
//     exactly as written, in a package of its own.
//
//   - Any other block is a fragment. Made of declarations only (functions,
//     types, vars), it goes at package level; otherwise it becomes the body
//     of a function. Its imports are added for the package names it uses,
//     from the table in doccheck.go (hub, middleware, auth, http, time,
//     chi, chimw, echo, redis, ...).
//
//   - The names a fragment takes from its surroundings (h, ctx, a verifier)
//     are declared in an HTML comment on the line just above the fence,
//     which readers of the rendered page do not see:
//
//     <!-- doc: var h *hub.Hub; var ctx context.Context -->
//
//     The text after "doc:" (one or several lines, up to "-->") is Go
//     placed at package level.
//
//   - A block that is not meant to compile says so, with a reason:
//
//     <!-- doc: skip: shows only the shape of the call -->
//
//     Keep these few: TestDocBlocks logs them.
package doccheck
