package partition_test

import (
	"fmt"

	"gridmap/grid/partition"
)

// Eight by four cells of 10 m with 20 households each (640 in all) and a street running
// north–south through the middle; at 320 households a part that makes two parts, and the
// cut follows the street.
func ExampleDivide() {
	const w, h, side = 8, 4, 10.0
	g := &partition.Graph{}
	for y := range h {
		for x := range w {
			ext := 0.0
			if x == 0 || x == w-1 {
				ext += side
			}
			if y == 0 || y == h-1 {
				ext += side
			}
			g.Nodes = append(g.Nodes, partition.Node{Weight: 20, Area: side * side,
				X: (float64(x) + 0.5) * side, Y: (float64(y) + 0.5) * side, Exterior: ext})
		}
	}
	for y := range h {
		for x := range w {
			u := y*w + x
			if x+1 < w {
				road := 0.0
				if x == 3 {
					road = 1 // the street between columns 3 and 4
				}
				g.Edges = append(g.Edges, partition.Edge{A: u, B: u + 1, Length: side, Road: road})
			}
			if y+1 < h {
				g.Edges = append(g.Edges, partition.Edge{A: u, B: u + w, Length: side})
			}
		}
	}
	d, err := partition.Divide(g, partition.Options{Target: 320, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range d.Parts {
		fmt.Printf("part %d: %d cells, %d households, Polsby–Popper %.2f, in band %v\n",
			p.Part, p.Nodes, p.Households, p.PolsbyPopper, p.InBand)
	}
	for y := range h {
		fmt.Println(d.Assignment[y*w : (y+1)*w])
	}
	// Output:
	// part 0: 16 cells, 320 households, Polsby–Popper 0.79, in band true
	// part 1: 16 cells, 320 households, Polsby–Popper 0.79, in band true
	// [0 0 0 0 1 1 1 1]
	// [0 0 0 0 1 1 1 1]
	// [0 0 0 0 1 1 1 1]
	// [0 0 0 0 1 1 1 1]
}
