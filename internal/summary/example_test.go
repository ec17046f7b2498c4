package summary_test

import (
	"fmt"
	"log"
	"time"

	"github.com/laned/laned/internal/summary"
)

func ExampleMarshal() {
	at := time.Date(2026, 11, 25, 22, 14, 3, 0, time.UTC)
	score, quality := 0.87, 0.91
	b, err := summary.Marshal(&summary.Transaction{
		Header:        summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindTransaction},
		TransactionID: "L2-000812", Site: "north", Lane: "L2", DetectedAt: at, CompletedAt: at.Add(2 * time.Second),
		GalleryVersion: "g42", ModelID: "resnet128",
		Occupants: []summary.Occupant{
			{Index: 0, Decision: summary.Match, SubjectID: "S-481", Score: &score, Quality: &quality},
			{Index: 1, Decision: summary.NoUsableImage, Reason: summary.ReasonOccluded},
		},
		Latency: summary.Latency{Total: 2000},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The uplink adds the outbox's id and sequence when it publishes.
	out, err := summary.Stamp(b, "019abc12-3456-7def-8abc-0123456789ab", 41)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	fmt.Println(summary.ValidateJSON(out))
	// Output:
	// {"message_id":"019abc12-3456-7def-8abc-0123456789ab","sequence":41,"schema_version":1,"kind":"transaction","transaction_id":"L2-000812","site":"north","lane":"L2","detected_at":"2026-11-25T22:14:03Z","completed_at":"2026-11-25T22:14:05Z","gallery_version":"g42","model_id":"resnet128","occupants":[{"index":0,"decision":"match","subject_id":"S-481","score":0.87,"quality":0.91},{"index":1,"decision":"no_usable_image","reason":"occluded"}],"latency_ms":{"total":2000}}
	// <nil>
}
