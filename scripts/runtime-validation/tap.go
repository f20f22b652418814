// Package tap writes Test Anything Protocol (version 13) output. It stands
// in for github.com/mndrix/tap-go, which the runtime-tools validation
// programs import and Debian does not package; scripts/runtime-validation.sh
// puts it on the GOPATH under that import path. Only the methods those
// programs call are here.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T numbers the test points it prints. Copies made by Todo share the count.
type T struct {
	next *int
	// TODO marks the points that follow as TODO.
	TODO bool
	// Writer receives the output (os.Stdout when nil).
	Writer io.Writer
}

// New starts a test stream whose first point is number 1.
func New() *T {
	n := 1
	return &T{next: &n}
}

func (t *T) out(s string) {
	w := t.Writer
	if w == nil {
		w = os.Stdout
	}
	_, _ = io.WriteString(w, s)
}

// Header prints the version line and, for a known count, the plan.
func (t *T) Header(count int) {
	t.out("TAP version 13\n")
	if count > 0 {
		t.out(fmt.Sprintf("1..%d\n", count))
	}
}

// Ok prints one test point.
func (t *T) Ok(pass bool, description string) {
	status := "ok"
	if !pass {
		status = "not ok"
	}
	sep := "-"
	if t.TODO {
		sep = "# TODO"
	}
	t.out(fmt.Sprintf("%s %d %s %s\n", status, *t.next, sep, description))
	*t.next++
}

// Pass prints a passing point.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail prints a failing point.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip prints count skipped points.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.out(fmt.Sprintf("ok %d # SKIP %s\n", *t.next, description))
		*t.next++
	}
}

// Count is the number of points printed so far.
func (t *T) Count() int { return *t.next - 1 }

// AutoPlan prints the plan for the points printed so far.
func (t *T) AutoPlan() { t.out(fmt.Sprintf("1..%d\n", t.Count())) }

// Todo returns a T whose points are TODO, sharing this one's count.
func (t *T) Todo() *T {
	c := *t
	c.TODO = true
	return &c
}

func comment(s string) string {
	return "# " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n# ") + "\n"
}

// Diagnostic prints a comment, one "# " line per line of message.
func (t *T) Diagnostic(message string) { t.out(comment(message)) }

// Diagnosticf is Diagnostic with a format.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.out(comment(fmt.Sprintf(format, a...)))
}

// YAML prints message as an indented YAML block (JSON being YAML).
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.out("  ---\n  " + string(b) + "\n  ...\n")
	return nil
}
