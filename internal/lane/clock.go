package lane

import (
	"log/slog"

	"github.com/laned/laned/internal/clock"
)

// Clock is the injected time source (internal/clock).
type Clock = clock.Clock

// Logger is the structured logger the lane writes to.
type Logger = *slog.Logger
