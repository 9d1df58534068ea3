package loader

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// DatasetInfo is the part of dataset_info.json (tfds's DatasetInfo proto in JSON form) this
// package reads and writes. Unknown fields are ignored on reading.
type DatasetInfo struct {
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	Description string      `json:"description,omitempty"`
	Citation    string      `json:"citation,omitempty"`
	ModuleName  string      `json:"moduleName,omitempty"`
	FileFormat  string      `json:"fileFormat,omitempty"`
	Location    *Location   `json:"location,omitempty"`
	Splits      []SplitInfo `json:"splits"`
	// SupervisedKeys is kept as raw JSON; the writer sets ("image", "label").
	SupervisedKeys json.RawMessage `json:"supervisedKeys,omitempty"`
}

// Location lists a dataset's homepage URLs.
type Location struct {
	URLs []string `json:"urls,omitempty"`
}

// SplitInfo describes one split in dataset_info.json: its name, examples per shard, size in
// bytes and the shard file name template.
type SplitInfo struct {
	Name             string
	ShardLengths     []int64
	NumBytes         int64
	FilepathTemplate string
}

type splitInfoJSON struct {
	Name             string      `json:"name"`
	NumBytes         jsonInt64   `json:"numBytes,omitempty"`
	ShardLengths     []jsonInt64 `json:"shardLengths"`
	FilepathTemplate string      `json:"filepathTemplate,omitempty"`
}

// NumExamples returns the sum of the shard lengths.
func (s SplitInfo) NumExamples() int64 {
	var n int64
	for _, l := range s.ShardLengths {
		n += l
	}
	return n
}

// UnmarshalJSON accepts int64 fields as JSON strings (proto JSON) or numbers.
func (s *SplitInfo) UnmarshalJSON(b []byte) error {
	var j splitInfoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = SplitInfo{Name: j.Name, NumBytes: int64(j.NumBytes), FilepathTemplate: j.FilepathTemplate}
	for _, l := range j.ShardLengths {
		s.ShardLengths = append(s.ShardLengths, int64(l))
	}
	return nil
}

// MarshalJSON writes the proto JSON form tfds writes (int64 values as strings).
func (s SplitInfo) MarshalJSON() ([]byte, error) {
	j := splitInfoJSON{Name: s.Name, NumBytes: jsonInt64(s.NumBytes), FilepathTemplate: s.FilepathTemplate, ShardLengths: []jsonInt64{}}
	for _, l := range s.ShardLengths {
		j.ShardLengths = append(j.ShardLengths, jsonInt64(l))
	}
	return json.Marshal(j)
}

// jsonInt64 is an int64 in proto JSON: written as a string, read from a string or a number.
type jsonInt64 int64

// MarshalJSON writes the value as a JSON string.
func (v jsonInt64) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatInt(int64(v), 10))
}

// UnmarshalJSON reads a JSON string or number.
func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 value %s: %v", b, err)
	}
	*v = jsonInt64(n)
	return nil
}

// Features are the features of an image classification dataset as features.json declares them.
type Features struct {
	Image ImageFeature
	Label LabelFeature
	// Filenames reports that features.json declares the "image/filename" Text feature (tfds's
	// ImageFolder, nnclr's folder import): the examples carry their source file's name
	// (SplitReader.Filename).
	Filenames bool
}

// ImageFeature is a tfds Image feature: the decoded shape and the encoding ("png" or "jpeg").
// A Shape of height and width 0 is a feature of unknown height and width (tfds's (None, None,
// C), -1 in features.json): the images differ in size (see Shape.Fixed).
type ImageFeature struct {
	Shape    Shape
	Encoding string
}

// LabelFeature is a tfds ClassLabel feature. Names come from label.labels.txt when present.
type LabelFeature struct {
	NumClasses int
	Names      []string
}

// Python class names tfds records in features.json.
const (
	featuresDictClass = "tensorflow_datasets.core.features.features_dict.FeaturesDict"
	imageClass        = "tensorflow_datasets.core.features.image_feature.Image"
	classLabelClass   = "tensorflow_datasets.core.features.class_label_feature.ClassLabel"
	textClass         = "tensorflow_datasets.core.features.text_feature.Text"
)

type featuresJSON struct {
	PythonClassName string `json:"pythonClassName"`
	FeaturesDict    *struct {
		Features map[string]featureJSON `json:"features"`
	} `json:"featuresDict,omitempty"`
}

type featureJSON struct {
	PythonClassName string `json:"pythonClassName"`
	Image           *struct {
		Shape struct {
			Dimensions []jsonInt64 `json:"dimensions"`
		} `json:"shape"`
		Dtype          string `json:"dtype"`
		EncodingFormat string `json:"encodingFormat,omitempty"`
	} `json:"image,omitempty"`
	ClassLabel *struct {
		NumClasses jsonInt64 `json:"numClasses"`
	} `json:"classLabel,omitempty"`
}

// parseFeatures reads the features.json of an image classification dataset: a FeaturesDict with
// an Image feature "image" (uint8, 1 or 3 channels, a fixed height and width or both unknown) and
// optionally a ClassLabel feature "label". Errors wrap ErrBadInfo.
func parseFeatures(b []byte) (Features, error) {
	var fj featuresJSON
	if err := json.Unmarshal(b, &fj); err != nil {
		return Features{}, fmt.Errorf("%w: %v", ErrBadInfo, err)
	}
	if fj.FeaturesDict == nil {
		return Features{}, fmt.Errorf("%w: features.json has no featuresDict (class %q); only the tfds 4.x format is supported", ErrBadInfo, fj.PythonClassName)
	}
	var f Features
	img, ok := fj.FeaturesDict.Features[ImageKey]
	if !ok || img.Image == nil {
		return Features{}, fmt.Errorf("%w: features.json has no Image feature %q", ErrBadInfo, ImageKey)
	}
	d := img.Image.Shape.Dimensions
	variable := len(d) == 3 && d[0] == -1 && d[1] == -1
	if len(d) != 3 || (!variable && (d[0] <= 0 || d[1] <= 0 || d[0] > 1<<15 || d[1] > 1<<15)) || (d[2] != 1 && d[2] != 3) {
		return Features{}, fmt.Errorf("%w: image shape %v: want HxWx1 or HxWx3, height and width both fixed or both unknown (-1)", ErrBadInfo, d)
	}
	if variable {
		d[0], d[1] = 0, 0
	}
	if img.Image.Dtype != "" && img.Image.Dtype != "uint8" {
		return Features{}, fmt.Errorf("%w: image dtype %q: want uint8", ErrBadInfo, img.Image.Dtype)
	}
	f.Image = ImageFeature{Shape: Shape{int(d[0]), int(d[1]), int(d[2])}, Encoding: img.Image.EncodingFormat}
	switch f.Image.Encoding {
	case "":
		f.Image.Encoding = "png"
	case "png", "jpeg":
	default:
		return Features{}, fmt.Errorf("%w: image encoding %q: want png or jpeg", ErrBadInfo, f.Image.Encoding)
	}
	if l, ok := fj.FeaturesDict.Features[LabelKey]; ok {
		if l.ClassLabel == nil {
			return Features{}, fmt.Errorf("%w: feature %q is not a ClassLabel", ErrBadInfo, LabelKey)
		}
		f.Label.NumClasses = int(l.ClassLabel.NumClasses)
	}
	_, f.Filenames = fj.FeaturesDict.Features[FilenameKey]
	return f, nil
}

// marshalFeatures writes features.json as tfds 4.9 does; with f.Filenames it adds the Text
// feature "image/filename" of tfds's ImageFolder.
func marshalFeatures(f Features) ([]byte, error) {
	type imageJSON struct {
		Shape struct {
			Dimensions []jsonInt64 `json:"dimensions"`
		} `json:"shape"`
		Dtype          string `json:"dtype"`
		EncodingFormat string `json:"encodingFormat,omitempty"`
	}
	var img imageJSON
	img.Shape.Dimensions = []jsonInt64{jsonInt64(f.Image.Shape.Height), jsonInt64(f.Image.Shape.Width), jsonInt64(f.Image.Shape.Channels)}
	if !f.Image.Shape.Fixed() {
		img.Shape.Dimensions[0], img.Shape.Dimensions[1] = -1, -1
	}
	img.Dtype = "uint8"
	if f.Image.Encoding == "jpeg" {
		img.EncodingFormat = "jpeg"
	}
	feats := map[string]any{
		ImageKey: map[string]any{"pythonClassName": imageClass, "image": img},
		LabelKey: map[string]any{
			"pythonClassName": classLabelClass,
			"classLabel":      map[string]any{"numClasses": jsonInt64(f.Label.NumClasses)},
		},
	}
	if f.Filenames {
		feats[FilenameKey] = map[string]any{"pythonClassName": textClass, "text": map[string]any{}}
	}
	doc := map[string]any{
		"pythonClassName": featuresDictClass,
		"featuresDict":    map[string]any{"features": feats},
	}
	return json.MarshalIndent(doc, "", "    ")
}
