package gateway_test

import (
	"os"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

// TestMain checks every answer this package's tests read over HTTP: none may
// carry a Go package prefix or a rule file position (testutil.CheckAnswers).
func TestMain(m *testing.M) { os.Exit(testutil.CheckAnswers(m)) }
