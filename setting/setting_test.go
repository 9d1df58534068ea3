package setting

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorForms(t *testing.T) {
	e := Errorf("queue_size", 10, "want at least the batch of %d", 80)
	wrapped := fmt.Errorf("run: %w", e)
	var got *Error
	if !errors.As(wrapped, &got) || got != e {
		t.Fatal("errors.As does not find the *Error")
	}
	for _, c := range []struct{ got, want string }{
		{e.Error(), "queue_size 10: want at least the batch of 80"},
		{e.Flag(), "--queue-size 10: want at least the batch of 80"},
		{Errorf("input_key", nil, "choose one of [a b]").Flag(), "--input-key: choose one of [a b]"},
		{Flag("init_from"), "--init-from"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
