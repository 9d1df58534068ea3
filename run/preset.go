package run

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/setting"
)

// Presets returns the names ApplyPreset knows, the default first.
func Presets() []string { return []string{"example", "paper"} }

// presetModelOptions are the paper's model options: with --preset example given explicitly, the
// run promises the example's model and these are refused.
var presetModelOptions = []string{"support_topk", "pred_hidden", "proj_hidden", "proj_dim", "head_bn"}

// PresetValues returns the settings preset name sets, by json key:
//   - example: the Keras example's model and augmentations (support_topk 1, no prediction head,
//     projection head without BN of widths proj_hidden and proj_dim 0 (conv4: width→width; a
//     ResNet: 2048→256), none of the paper's augmentations);
//   - paper: the NNCLR paper's heads whatever the backbone: projection head Dense-BN-ReLU,
//     Dense-BN of hidden width 2048 and output 256, prediction head of hidden width 4096 with BN,
//     the nearest neighbour as the positive (the paper's default, k = 1), and the paper's augmentations
//     (colour jitter p 0.8 with strengths 0.4,0.4,0.2,0.1, grayscale p 0.2, blur p 1 and 0.1
//     with sigma 0.1-2, solarization p 0 and 0.2). The queue size, temperature and optimiser are
//     left to their own flags.
func PresetValues(name string) (map[string]any, error) {
	switch name {
	case "example", "":
		return map[string]any{"support_topk": 1, "pred_hidden": 0, "proj_hidden": 0, "proj_dim": 0, "head_bn": false,
			"jitter_prob": 0.0, "grayscale_prob": 0.0, "blur_prob": []float64{0}, "solarize_prob": []float64{0}}, nil
	case "paper":
		return map[string]any{"support_topk": 1, "pred_hidden": 4096, "proj_hidden": 2048, "proj_dim": 256, "head_bn": true,
			"jitter_prob": 0.8, "jitter": []float64{0.4, 0.4, 0.2, 0.1}, "grayscale_prob": 0.2, "blur_prob": []float64{1, 0.1},
			"blur_sigma": []float64{0.1, 2}, "solarize_prob": []float64{0, 0.2}}, nil
	}
	return nil, setting.Errorf("preset", name, "want one of %s", strings.Join(Presets(), ", "))
}

// ApplyPreset returns c with its preset's values (PresetValues of c.Preset) in every
// setting the preset sets that is not named in given (the settings the user chose; they win),
// and the names it set. With "preset" itself in given and set to example, a paper model option
// in given is refused: the example has none.
func (c Config) ApplyPreset(given []string) (Config, []string, error) {
	vals, err := PresetValues(c.Preset)
	if err != nil {
		return c, nil, err
	}
	if c.Preset == "example" && slices.Contains(given, "preset") {
		for _, n := range presetModelOptions {
			if slices.Contains(given, n) {
				v, _ := c.value(n)
				return c, nil, setting.Errorf(n, v, "the example preset has no %s: use --preset paper, or leave --preset unset to override the example's model", strings.ReplaceAll(n, "_", " "))
			}
		}
	}
	var set []string
	p := c
	for _, n := range Names() {
		v, ok := vals[n]
		if !ok || slices.Contains(given, n) {
			continue
		}
		if err := p.setValue(n, v); err != nil {
			return c, nil, err
		}
		set = append(set, n)
	}
	return p, set, nil
}

// PresetSummary describes what each preset sets, one line each (for --help and the README).
func PresetSummary() string {
	var lines []string
	for _, name := range Presets() {
		vals, _ := PresetValues(name)
		var parts []string
		for _, n := range Names() {
			if v, ok := vals[n]; ok {
				parts = append(parts, fmt.Sprintf("%s=%v", n, v))
			}
		}
		lines = append(lines, name+": "+strings.Join(parts, " "))
	}
	return strings.Join(lines, "\n")
}
