package cell

// How a cell runs
//
// Execute parses the cell with go/parser after cutting it at the top level
// into runs of declarations and runs of statements (yaegi alone would parse
// a cell that starts with `import` as a file and reject the statements that
// follow). Then:
//
//   - imports already made by earlier cells are dropped, so re-running an
//     import cell works; packages used as pkg.Name without an import are
//     imported (goimports' convenience);
//   - a function becomes a package-level variable holding a function literal
//     (`var f func(int) int` once, `f = func(x int) int {...}` each time), so
//     callers defined earlier see a redefinition; a changed signature
//     re-declares the variable and re-binds earlier callers (or says on
//     stderr why one no longer compiles);
//   - a method becomes a wrapper around a dispatch variable
//     (__sbm_T_M), so a new body takes effect; a new signature is refused
//     with a RedefinitionError;
//   - a type defined again with the same text is skipped; with another text
//     the cell fails with a RedefinitionError (yaegi would silently keep the
//     old one);
//   - a global declared again (`x := load()` re-run) gets a new slot in
//     yaegi, so functions and methods of earlier cells that use it are
//     re-bound;
//   - min, max and clear become helper calls; `for i := range n` over an
//     integer becomes a three-clause loop; loop variables captured by
//     closures, go or defer statements get a per-iteration copy (Go 1.22);
//   - `go f(x)` becomes __sbGo(cell, line, ...), which recovers a panic and
//     reports it through SetGoroutinePanicHandler; variable arguments are
//     evaluated at the go statement as in Go;
//   - top-level compound statements run inside a function literal (yaegi
//     keeps block variables of top-level statements in the global scope);
//     a defer inside such a statement therefore runs when the statement
//     ends, while a defer at the top of the cell runs when the cell ends;
//   - type switches over cell-defined types, top-level comma-ok forms and a
//     top-level `:=` that redeclares a global it reads are rewritten around
//     yaegi bugs;
//   - the trailing expression statement, if any, is evaluated on its own
//     and its values captured; that alone decides Result.HasValue.
//
// No rewrite adds or removes a line, and every chunk is compiled with a
// //line directive that folds the cell number into the line, so yaegi's
// positions give the cell and line of every error and panic frame.
//
// Known limitations (yaegi v0.16.1), and how they surface
//
//   - Generic type inference is partial: variadic generic calls and some
//     nested calls fail. The error is an "Unsupported" naming the call and
//     the workaround (explicit instantiation, F[float64](...)).
//   - Range over functions (iterators) is not supported: "Unsupported" with
//     the workaround. Range over an integer works when the front-end can see
//     the bound is an integer (literals, len/cap, integer variables and
//     conversions, functions returning int); otherwise the same message.
//   - The standard library tables stop at Go 1.22; generic functions of
//     slices and maps are mostly missing (message suggests sort/loops).
//   - A comma-ok channel receive (`v, ok := <-ch`) at the top level of a
//     cell fails; the message says to do it inside a function.
//   - After an interrupt yaegi's closures created before it would stop at
//     once; the session re-binds every function and method it knows, but
//     function values stored elsewhere (a slice of closures) are stale.
//   - Compiled calls (time.Sleep, engine calls that ignore ctx) cannot be
//     stopped: the cell returns Interrupted at once while the call finishes
//     in the background.
//   - Runaway recursion stops at 100 000 nested calls with a StackOverflow
//     error: functions and function literals that call cell functions or
//     function variables count their depth. A panic in a goroutine started
//     by compiled code (a callback run on a compiled package's own
//     goroutine) still ends the process.
//   - A runtime error inside a loop or a function is reported at the line
//     yaegi attributes it to, which can be the enclosing statement; errors
//     in top-level statements use the exact statement line.
//   - Interpreted values cross into compiled code without their methods.
//     The front-end routes display.Show/ShowID/Update through interpreted
//     helpers so that MIMEBundle/String/Error methods of cell types are
//     used there and for trailing values; compiled code that receives a
//     cell value (fmt in compiled packages, a plot) sees only its fields.
//   - A cell struct type that embeds a type with methods (struct{
//     time.Duration }) gets a method table Go's runtime cannot use: a type
//     switch on such a value in compiled code is a fatal error. The display
//     path renders these values by reflection; handing one to other
//     compiled code that type-switches on `any` can still end the process.
//   - os.Stdin in cells is an io.Reader (not an *os.File) so that reads
//     reach the front-end (input_request).
