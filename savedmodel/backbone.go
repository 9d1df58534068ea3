package savedmodel

import (
	"fmt"
	"slices"
	"strings"
)

// MapBackbone maps the variables of a Keras model saved from Python onto a ResNet encoder of
// nnclr, by name and shape: each of ours (enc/NAME, trained variables and batch-norm moving
// statistics, in layer order) takes the SavedModel's variable NAME, or one whose name ends in
// /NAME (a model nested in another). Keras 3 SavedModels hold some variables twice (NAME and
// NAME_1, equal after loading): the exact name wins. The first of ours without a variable of
// that name, or whose shape differs, is an error naming both: the SavedModel is of another
// architecture. Variables of theirs that nothing maps to are ignored (a classifier on top).
func MapBackbone(theirs []Var, ours []Var) ([]Pair, error) {
	byName := map[string]Var{}
	for _, v := range theirs {
		byName[v.Name] = v
	}
	var pairs []Pair
	for _, o := range ours {
		name := strings.TrimPrefix(o.Name, "enc/")
		v, ok := byName[name]
		if !ok {
			v, ok = nestedVar(theirs, name)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s has no variable %s (nor one ending in /%s): not the same architecture", ErrNoMapping, o.Name, name, name)
		}
		if !slices.Equal(v.Shape, o.Shape) {
			return nil, fmt.Errorf("%w: %s is %v, the SavedModel's %s is %v: not the same architecture", ErrNoMapping, o.Name, o.Shape, v.Name, v.Shape)
		}
		pairs = append(pairs, Pair{o.Name, v.Name})
	}
	return pairs, nil
}

// nestedVar is the shortest-named of theirs ending in /name.
func nestedVar(theirs []Var, name string) (Var, bool) {
	var best Var
	found := false
	for _, v := range theirs {
		if strings.HasSuffix(v.Name, "/"+name) && (!found || len(v.Name) < len(best.Name)) {
			best, found = v, true
		}
	}
	return best, found
}
