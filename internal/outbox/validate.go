package outbox

import (
	"errors"
	"fmt"

	"github.com/laned/laned/internal/summary"
)

// ErrInvalid is returned by Enqueue for a payload that Options.Validate
// refuses: it is not stored, and counted in ClassStats.Invalid.
var ErrInvalid = errors.New("invalid payload")

// A Validator checks a payload of class k before it is stored.
type Validator func(k Kind, payload []byte) error

// SummarySchemas is the default Validator: a summary class must carry a
// transaction, an event class an event, a health class a health report,
// each as the lane commits it (unstamped), accepted by the strict decoder
// and the JSON Schema of its kind (summary.CheckUnstamped). Nothing else
// (no extra field such as a template) can enter the outbox.
func SummarySchemas(k Kind, payload []byte) error {
	var want summary.Kind
	switch k {
	case KindSummary:
		want = summary.KindTransaction
	case KindEvent:
		want = summary.KindEvent
	case KindHealth:
		want = summary.KindHealth
	default:
		return fmt.Errorf("no schema for class %s", k)
	}
	return summary.CheckUnstamped(want, payload)
}

// AnyPayload accepts every payload; it is for tests of the queue itself,
// never for the daemon.
func AnyPayload(Kind, []byte) error { return nil }

// validate runs the validator; a refusal is counted, logged and reported.
func (o *Outbox) validate(kind Kind, payload []byte) error {
	err := o.opts.Validate(kind, payload)
	if err == nil {
		return nil
	}
	o.mu.Lock()
	o.mem.invalid[slot(kind)]++
	o.mu.Unlock()
	o.log.Error("outbox refused invalid payload", "kind", kind, "bytes", len(payload), "err", err)
	if o.opts.OnInvalid != nil {
		o.opts.OnInvalid(kind, err)
	}
	return fmt.Errorf("outbox: enqueue %s: %w: %w", kind, ErrInvalid, err)
}
