package logstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/logstore"
)

func TestQuote(t *testing.T) {
	require.Equal(t, `"sg-1"`, logstore.Quote("sg-1"))
	require.Equal(t, `"a\"b\\c"`, logstore.Quote(`a"b\c`))
	require.Equal(t, `"\\\""`, logstore.Quote(`\"`), "an escaped quote in the input stays inside the phrase")
}
