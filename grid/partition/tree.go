package partition

// unionFind is a disjoint-set forest over 0..n-1 with path halving and union by size.
type unionFind struct {
	parent []int32
	size   []int32
}

func (u *unionFind) reset(n int) {
	u.parent = grow(u.parent, n)
	u.size = grow(u.size, n)
	for i := range u.parent {
		u.parent[i], u.size[i] = int32(i), 1
	}
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// union joins the sets of a and b and reports whether they were apart.
func (u *unionFind) union(a, b int32) bool {
	a, b = u.find(a), u.find(b)
	if a == b {
		return false
	}
	if u.size[a] < u.size[b] {
		a, b = b, a
	}
	u.parent[b] = a
	u.size[a] += u.size[b]
	return true
}

// grow returns s with length n, reusing its storage when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// csr is an adjacency list over local indices: the items of node u are item[start[u]:start[u+1]].
type csr struct {
	start []int32
	item  []int32
}

// build fills c from pairs (a[i], b[i]) listed under both ends: under each end the other end,
// or val[i] when val is given.
func (c *csr) build(n int, a, b, val []int32) {
	c.start = grow(c.start, n+1)
	clear(c.start)
	for i := range a {
		c.start[a[i]+1]++
		c.start[b[i]+1]++
	}
	for u := 0; u < n; u++ {
		c.start[u+1] += c.start[u]
	}
	c.item = grow(c.item, int(c.start[n]))
	fill := make([]int32, n)
	copy(fill, c.start[:n])
	for i := range a {
		va, vb := b[i], a[i]
		if val != nil {
			va, vb = val[i], val[i]
		}
		c.item[fill[a[i]]] = va
		fill[a[i]]++
		c.item[fill[b[i]]] = vb
		fill[b[i]]++
	}
}

func (c *csr) items(u int32) []int32 { return c.item[c.start[u]:c.start[u+1]] }
