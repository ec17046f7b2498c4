package onednn_test

import (
	"fmt"
	"log"

	"github.com/laned/laned/internal/models/onnx"
	"github.com/laned/laned/internal/vision/onednn"
)

func ExampleParse() {
	g := onnx.NewGraph("double")
	g.Input("x", 1, 2)
	if err := g.Node("Add", "y", []string{"x", "x"}, []string{"y"}); err != nil {
		log.Fatal(err)
	}
	g.Output("y", 1, 2)
	data, err := g.Model("example", "1", 11)
	if err != nil {
		log.Fatal(err)
	}
	n, err := onednn.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	out, err := n.Forward([]float32{1.5, -2})
	fmt.Println(out, err)
	// Output: [3 -4] <nil>
}
