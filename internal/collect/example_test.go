package collect_test

import (
	"fmt"

	"github.com/laned/laned/internal/collect"
)

func ExampleParseTopic() {
	t, err := collect.ParseTopic("border", "border/north-crossing/L2/transactions")
	fmt.Println(t.Site, t.Lane, t.Leaf, err)
	_, err = collect.ParseTopic("border", "border/north-crossing/L2/images")
	fmt.Println(err)
	// Output:
	// north-crossing L2 transactions <nil>
	// topic "border/north-crossing/L2/images": unknown leaf "images"
}

func ExampleConfig_Filters() {
	c := collect.Config{Prefix: "border", Group: "office"}
	for _, f := range c.Filters() {
		fmt.Println(f)
	}
	// Output:
	// $share/office/border/+/+/transactions
	// $share/office/border/+/+/events
	// $share/office/border/+/+/health
	// $share/office/border/+/+/status
}
