package partition

import "fmt"

// Error codes, the same strings as package grid's so that the store hands a refusal on
// unchanged: grid.Errorf(e.Code, "%s", e.Message). Package grid is not imported because it
// links the database driver (through geo's geometry codec) and an algorithm core should build
// and test without one.
const (
	EINVALID  = "EINVALID"  // the graph or the options are wrong: 400
	EINTERNAL = "EINTERNAL" // a broken invariant inside this package: a bug
)

// Error is a coded refusal with a message meant for the user.
type Error struct {
	Code    string
	Message string
}

// Error returns the code and the message.
func (e *Error) Error() string {
	return fmt.Sprintf("partition: code=%s message=%s", e.Code, e.Message)
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
