package setting

import (
	"fmt"
	"strings"
)

// Error reports a bad value of one setting: Name is its key, Value the value given (nil when the
// setting was missing or the value says nothing more), Reason what was expected or what to do,
// and Err, when set, the error behind it (Unwrap returns it; Reason already says it in words).
type Error struct {
	Name   string
	Value  any
	Reason string
	Err    error
}

// Unwrap returns the error behind the setting's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error for setting name with value v and the formatted reason.
func Errorf(name string, v any, format string, args ...any) *Error {
	return &Error{Name: name, Value: v, Reason: fmt.Sprintf(format, args...)}
}

// Error formats the error as "NAME VALUE: REASON" ("NAME: REASON" without a value).
func (e *Error) Error() string { return e.format(e.Name) }

// Flag formats the error as the command line shows it: "--flag-name VALUE: REASON".
func (e *Error) Flag() string { return e.format(Flag(e.Name)) }

func (e *Error) format(name string) string {
	if e.Value == nil {
		return name + ": " + e.Reason
	}
	return fmt.Sprintf("%s %v: %s", name, e.Value, e.Reason)
}

// Flag returns the command-line flag of setting name: "queue_size" → "--queue-size".
func Flag(name string) string { return "--" + strings.ReplaceAll(name, "_", "-") }
