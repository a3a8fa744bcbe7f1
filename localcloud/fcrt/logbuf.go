package fcrt

import (
	"os"
	"sync"
)

// logBuffer keeps the last max bytes written to it and tees them to file.
// Writes are amortised O(len): the slice is trimmed only when it reaches
// twice max.
type logBuffer struct {
	max int

	mu   sync.Mutex
	buf  []byte
	file *os.File
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	if b.file != nil {
		_, _ = b.file.Write(p) // the in-memory copy stays authoritative
	}
	return len(p), nil
}

// String returns the last max bytes.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > b.max {
		return string(b.buf[len(b.buf)-b.max:])
	}
	return string(b.buf)
}

func (b *logBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file != nil {
		_ = b.file.Close()
		b.file = nil
	}
}
