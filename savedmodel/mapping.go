package savedmodel

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// Var is a variable's name and shape, on either side of a mapping.
type Var struct {
	Name  string
	Shape []int64
}

// Pair maps one of nnclr's variables (Ours) to a variable of a SavedModel (Theirs).
type Pair struct{ Ours, Theirs string }

// ErrNoMapping reports weights that cannot be mapped onto nnclr's encoder.
var ErrNoMapping = fmt.Errorf("savedmodel: weights do not map onto the encoder")

// layer is a Keras layer seen through its variables: path/kernel and path/bias.
type layer struct {
	path         string
	kernel, bias *Var
}

// naturalLess orders names with digit runs compared as numbers: conv2d < conv2d_1 < conv2d_10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		ra, rb := rune(a[0]), rune(b[0])
		if unicode.IsDigit(ra) && unicode.IsDigit(rb) {
			i, j := 0, 0
			for i < len(a) && unicode.IsDigit(rune(a[i])) {
				i++
			}
			for j < len(b) && unicode.IsDigit(rune(b[j])) {
				j++
			}
			na, nb := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[i:], b[j:]
			continue
		}
		if ra != rb {
			return ra < rb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func layers(vars []Var) []*layer {
	byPath := map[string]*layer{}
	var out []*layer
	for i := range vars {
		v := &vars[i]
		dir, base := path.Split(v.Name)
		dir = strings.TrimSuffix(dir, "/")
		if base != "kernel" && base != "bias" {
			continue
		}
		l, ok := byPath[dir]
		if !ok {
			l = &layer{path: dir}
			byPath[dir] = l
			out = append(out, l)
		}
		if base == "kernel" {
			l.kernel = v
		} else {
			l.bias = v
		}
	}
	slices.SortStableFunc(out, func(a, b *layer) int {
		if naturalLess(a.path, b.path) {
			return -1
		}
		if naturalLess(b.path, a.path) {
			return 1
		}
		return 0
	})
	return out
}

func shapeStr(s []int64) string { return fmt.Sprint(s) }

// match pairs the kernel and bias of target layer i (targets[2i], targets[2i+1]) with l.
func match(l *layer, kernel, bias Var) ([]Pair, error) {
	if l.kernel == nil || !slices.Equal(l.kernel.Shape, kernel.Shape) {
		got := "none"
		if l.kernel != nil {
			got = shapeStr(l.kernel.Shape)
		}
		return nil, fmt.Errorf("%w: %s expects kernel %v, SavedModel layer %s has %s", ErrNoMapping, kernel.Name, kernel.Shape, l.path, got)
	}
	if l.bias == nil || !slices.Equal(l.bias.Shape, bias.Shape) {
		got := "none"
		if l.bias != nil {
			got = shapeStr(l.bias.Shape)
		}
		return nil, fmt.Errorf("%w: %s expects bias %v, SavedModel layer %s has %s", ErrNoMapping, bias.Name, bias.Shape, l.path, got)
	}
	return []Pair{{kernel.Name, l.kernel.Name}, {bias.Name, l.bias.Name}}, nil
}

// MapNNCLR maps the variables of a Keras NNCLR encoder (and projection head, when the SavedModel
// has one) saved from Python onto nnclr's encoder and head variables, by variable path and shape:
// the four conv layers (rank-4 kernels) in the natural order of their paths (conv2d, conv2d_1,
// …) become enc/conv0…3; the dense layer beside them (same parent path, kernel [F, W]) becomes
// enc/dense; two further dense layers with [W, W] kernels under one parent become head/dense0
// and head/dense1. encoder and head are nnclr's variables in EncoderVars / HeadVars order. The
// second result says whether the head was found. Every mismatch names both shapes.
func MapNNCLR(theirs []Var, encoder, head []Var) ([]Pair, bool, error) {
	ls := layers(theirs)
	var convs, denses []*layer
	for _, l := range ls {
		if l.kernel == nil {
			continue
		}
		switch len(l.kernel.Shape) {
		case 4:
			convs = append(convs, l)
		case 2:
			denses = append(denses, l)
		}
	}
	if len(convs) != 4 {
		var names []string
		for _, l := range convs {
			names = append(names, l.path)
		}
		return nil, false, fmt.Errorf("%w: the encoder has 4 conv layers, the SavedModel has %d %v", ErrNoMapping, len(convs), names)
	}
	var pairs []Pair
	for i, l := range convs {
		p, err := match(l, encoder[2*i], encoder[2*i+1])
		if err != nil {
			return nil, false, err
		}
		pairs = append(pairs, p...)
	}
	parent := path.Dir(convs[0].path)
	dk, db := encoder[8], encoder[9]
	var encDense *layer
	for _, l := range denses {
		if path.Dir(l.path) == parent && slices.Equal(l.kernel.Shape, dk.Shape) {
			encDense = l
			break
		}
	}
	if encDense == nil {
		var found []string
		for _, l := range denses {
			found = append(found, fmt.Sprintf("%s %v", l.path, l.kernel.Shape))
		}
		return nil, false, fmt.Errorf("%w: %s expects a dense kernel %v beside the conv layers in %s; the SavedModel's dense layers: %v", ErrNoMapping, dk.Name, dk.Shape, parent, found)
	}
	p, err := match(encDense, dk, db)
	if err != nil {
		return nil, false, err
	}
	pairs = append(pairs, p...)
	if len(head) != 4 {
		return pairs, false, nil
	}
	byParent := map[string][]*layer{}
	var parents []string
	for _, l := range denses {
		if l == encDense || !slices.Equal(l.kernel.Shape, head[0].Shape) {
			continue
		}
		d := path.Dir(l.path)
		if _, ok := byParent[d]; !ok {
			parents = append(parents, d)
		}
		byParent[d] = append(byParent[d], l)
	}
	for _, d := range parents {
		if hl := byParent[d]; len(hl) == 2 {
			p0, err0 := match(hl[0], head[0], head[1])
			p1, err1 := match(hl[1], head[2], head[3])
			if err0 == nil && err1 == nil {
				return append(append(pairs, p0...), p1...), true, nil
			}
		}
	}
	return pairs, false, nil
}

// NNCLRWeights is what ReadNNCLRWeights found in a Python-saved NNCLR model.
type NNCLRWeights struct {
	Values map[string]tfrun.Array // keyed by nnclr's variable names
	Pairs  []Pair                 // in EncoderVars, (EncoderStatVars,) then HeadVars order
	// WithHead says whether the projection head was found (never for a ResNet: MapBackbone
	// maps the backbone alone).
	WithHead bool
}

// ReadNNCLRWeights loads the SavedModel in dir (tag serve), maps its variables onto the encoder
// (and projection head, when it has one) of a model of cfg with MapNNCLR — for a ResNet onto the
// encoder's variables and batch-norm statistics with MapBackbone — and reads their values.
func ReadNNCLRWeights(dir string, cfg tfgraph.ModelConfig, sc tfrun.SessionConfig) (NNCLRWeights, error) {
	lm, err := Load(dir, nil, sc)
	if err != nil {
		return NNCLRWeights{}, err
	}
	defer lm.Close()
	var theirs []Var
	for _, v := range lm.Variables() {
		theirs = append(theirs, Var{Name: v.Name, Shape: v.Shape})
	}
	vars := func(specs []tfgraph.VarSpec) []Var {
		out := make([]Var, len(specs))
		for i, s := range specs {
			out[i] = Var{Name: s.Name, Shape: s.Shape}
		}
		return out
	}
	var pairs []Pair
	var withHead bool
	if cfg.IsResNet() {
		pairs, err = MapBackbone(theirs, vars(append(cfg.EncoderVars(), cfg.EncoderStatVars()...)))
	} else {
		pairs, withHead, err = MapNNCLR(theirs, vars(cfg.EncoderVars()), vars(cfg.HeadVars()))
	}
	if err != nil {
		return NNCLRWeights{}, fmt.Errorf("savedmodel: %s: %w", dir, err)
	}
	names := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = p.Theirs
	}
	vals, err := lm.ReadVariables(names)
	if err != nil {
		return NNCLRWeights{}, err
	}
	w := NNCLRWeights{Values: map[string]tfrun.Array{}, Pairs: pairs, WithHead: withHead}
	for _, p := range pairs {
		w.Values[p.Ours] = vals[p.Theirs]
	}
	return w, nil
}
