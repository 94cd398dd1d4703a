package dsv4

import (
	"math"
	"math/bits"
)

// Reference-order top-k. The indexer's FP4-rounded scores tie exactly (often
// at 0, when every head's ReLU is off), and which tied entry wins changes the
// logits by O(0.1–1). The reference uses torch.topk on CPU, whose choice among
// ties is deterministic but unspecified: it runs libstdc++'s std::nth_element
// (introselect) over (value, index) pairs in index order, or a heap select when
// 64·k ≤ n. topKRef reproduces those algorithms step by step, so that the
// engine picks the same entries as the reference for the same score row.

type scored struct {
	v float32
	i int
}

// greater is torch's comparator for largest=true (NaN sorts first).
func greater(x, y scored) bool {
	xn, yn := math.IsNaN(float64(x.v)), math.IsNaN(float64(y.v))
	return (xn && !yn) || x.v > y.v
}

// topKRef rearranges a so that a[:k] holds the k elements torch.topk selects.
func topKRef(a []scored, k int) {
	n := len(a)
	if k <= 0 || k >= n {
		return
	}
	if k*64 <= n {
		heapSelect(a, 0, k, n)
		return
	}
	introselect(a, 0, k-1, n, 2*(bits.Len(uint(n))-1))
}

func introselect(a []scored, first, nth, last, depth int) {
	for last-first > 3 {
		if depth == 0 {
			heapSelect(a, first, nth+1, last)
			a[first], a[nth] = a[nth], a[first]
			return
		}
		depth--
		cut := partitionPivot(a, first, last)
		if cut <= nth {
			first = cut
		} else {
			last = cut
		}
	}
	insertionSort(a, first, last)
}

func partitionPivot(a []scored, first, last int) int {
	mid := first + (last-first)/2
	moveMedianToFirst(a, first, first+1, mid, last-1)
	return unguardedPartition(a, first+1, last, first)
}

func moveMedianToFirst(a []scored, result, x, y, z int) {
	switch {
	case greater(a[x], a[y]):
		if greater(a[y], a[z]) {
			a[result], a[y] = a[y], a[result]
		} else if greater(a[x], a[z]) {
			a[result], a[z] = a[z], a[result]
		} else {
			a[result], a[x] = a[x], a[result]
		}
	case greater(a[x], a[z]):
		a[result], a[x] = a[x], a[result]
	case greater(a[y], a[z]):
		a[result], a[z] = a[z], a[result]
	default:
		a[result], a[y] = a[y], a[result]
	}
}

func unguardedPartition(a []scored, first, last, pivot int) int {
	for {
		for greater(a[first], a[pivot]) {
			first++
		}
		last--
		for greater(a[pivot], a[last]) {
			last--
		}
		if first >= last {
			return first
		}
		a[first], a[last] = a[last], a[first]
		first++
	}
}

func insertionSort(a []scored, first, last int) {
	if first == last {
		return
	}
	for i := first + 1; i < last; i++ {
		val := a[i]
		if greater(val, a[first]) {
			copy(a[first+1:i+1], a[first:i])
			a[first] = val
			continue
		}
		j := i
		for greater(val, a[j-1]) {
			a[j] = a[j-1]
			j--
		}
		a[j] = val
	}
}

func heapSelect(a []scored, first, middle, last int) {
	makeHeap(a, first, middle)
	for i := middle; i < last; i++ {
		if greater(a[i], a[first]) {
			v := a[i]
			a[i] = a[first]
			adjustHeap(a, first, 0, middle-first, v)
		}
	}
}

func makeHeap(a []scored, first, last int) {
	n := last - first
	if n < 2 {
		return
	}
	for parent := (n - 2) / 2; ; parent-- {
		adjustHeap(a, first, parent, n, a[first+parent])
		if parent == 0 {
			return
		}
	}
}

func adjustHeap(a []scored, first, hole, n int, v scored) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if greater(a[first+child], a[first+child-1]) {
			child--
		}
		a[first+hole] = a[first+child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		a[first+hole] = a[first+child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && greater(a[first+parent], v) {
		a[first+hole] = a[first+parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	a[first+hole] = v
}
