package tfc

import (
	"strings"
	"testing"
)

func TestStartRefusesEmptyServerDef(t *testing.T) {
	if _, err := Start(nil); err == nil || !strings.Contains(err.Error(), "empty ServerDef") {
		t.Fatalf("Start(nil): %v", err)
	}
}
