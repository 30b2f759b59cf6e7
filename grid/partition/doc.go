// Package partition divides the adjacency graph of a parent grid's building cells into
// balanced, connected, compact parts (Divide) and rebalances existing parts with few moves
// (Rebalance). It is pure Go with no SQL: the store builds the graph from PostGIS (each node
// is the Voronoi cell of a building or of a group of buildings, clipped to the parent) and
// writes the answer back.
//
// # How Divide works, and why
//
// Divide is recursive bisection on spanning trees, in the manner of GerryChain's ReCom
// (bipartition_tree, recursive_tree_part) and frcw.rs, followed by a boundary local search
// in the manner of METIS's refinement:
//
//  1. Layout. A node whose households exceed the band gets a part of its own, with any pocket
//     too small to be a part that only it touches. Each connected piece of the other free
//     cells (a parent may be an island group) is divided on its own; it gets
//     round(households ÷ Target) parts, or its D'Hondt share of K.
//  2. Bisection. A region to hold k parts is cut into sides holding ⌊k/2⌋ and ⌈k/2⌉ parts.
//     Up to 8 spanning trees are drawn by Kruskal's method on random keys (more, up to 32,
//     while none offers a cut within the band); every tree edge is a candidate cut, and the
//     two sides of a tree edge are subtrees, so both are connected: contiguity is
//     guaranteed by construction, not repaired afterwards. Two biases go into the keys. Edges
//     that run along the region's long axis (the principal axis of its cells) come late, so
//     the tree is chains across the axis and its subtrees are slabs: cuts run straight across
//     the long side, which is what recursive inertial bisection does for compactness. Road
//     edges come last (GerryChain's region surcharge), so the tree crosses a road once and
//     one tree edge cuts exactly along it. One linear walk of the tree scores every
//     candidate: sides' households from subtree sums, the cut's cost from Tarjan's offline
//     lowest common ancestors; the best cut has both sides within their bands and the
//     highest mean Polsby–Popper of its sides with road edges at half length, less a
//     penalty for straying from the ideal share.
//  3. Refinement. Passes over the nodes move a boundary node to a neighbouring part when that
//     lowers the total households outside the bands, or leaves it and lowers the total cut
//     cost (road edges at half cost), and the node's part stays connected without it (a
//     breadth-first check that stops once the node's neighbours in its part meet).
//  4. Chains. A part still outside its band that no neighbour can fix sends or takes
//     households through a chain of neighbouring parts (the Rebalance step below).
//  5. Recombination. A part made of a few heavy cells (two towers of 180 households are over
//     240–360, either alone under it) cannot be fixed one node at a time; ReCom's own step
//     can: merge it with one or two neighbours and divide the union afresh, keeping the
//     result only when fewer parts are out of band, or as many but less far. Its work is capped at what the
//     bisection spent, so weights that fit no band do not make it search forever. Then
//     refinement runs again.
//
// Why not the alternatives: METIS (multilevel coarsening and FM refinement) cuts fewest
// edges but does not keep parts connected — its -contig option moves stray components
// afterwards and may give up — and it balances part weights, not a households band with
// oversize buildings; cgo bindings would also tie the domain to C. Plain ReCom trees are
// uniform or random, so its cuts wander and parts are ragged; its Markov chain is for
// sampling plans, not for proposing one good plan. Region growing from seeds balances poorly
// near the end and needs the same local search anyway. Spanning-tree bisection gives
// connectivity for free, balance within the band on every cut the weights allow, and the
// biased trees plus refinement give compact parts cut along roads.
//
// # How Rebalance works
//
// Starting from the current parts, the worst part outside its band looks for a chain of at
// most 6 neighbouring unlocked parts (breadth first, so short chains first) that ends at a
// part with room (when pushing households out) or to spare (when pulling them in). Each hop
// moves one boundary node that may leave its part, whose households come closest to what
// the driving part needs to reach the middle of its band. Every candidate chain is tried for
// real and undone; the one that brings most parts into the band per move is kept, or, when
// none does, the one that most lowers how far the parts stray. No chain trades a part in
// the band for a smaller total miss. This repeats
// until no part can be improved or MaxMoves is reached. Chains let an over part with no
// under neighbour pass households through a neighbour in the band.
//
// # Determinism
//
// Randomness comes only from a PCG generator seeded with Options.Seed; every loop runs over
// slices in index order and every tie is broken by index, so the same graph, options and
// seed give the same answer.
package partition
