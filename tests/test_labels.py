"""Label files for `emofuse crawl flickr`: tables, URLs, Emotion6 votes, errors before requests."""

import pytest

from emofuse.crawlers.labels import LabelColumns, not_flickr_ids, photo_id_from, read_labels
from emofuse.errors import UserError
from emofuse.schema import FLICKR_CLASSES


def test_csv_with_ids_and_urls(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(
        "photo_id,emotion,agree,total\n"
        "32812033543,Amusement,5,5\n"
        "https://www.flickr.com/photos/coast_guard/53509656752/in/album-1/,awe,3,5\n"
        "https://live.staticflickr.com/2903/1234567_c1b3784192_b.jpg,fear,4,5\n"
        "https://flic.kr/p/2pkLsmh,sadness,,\n"
        "32812033543,amusement,5,5\n"  # a repeated row: dropped, counted
    )
    labels = read_labels(path)
    assert labels.format == "table" and labels.classes == FLICKR_CLASSES
    assert [(r.photo_id, r.label, r.votes_agree, r.votes_total) for r in labels.rows] == [
        ("32812033543", "amusement", 5, 5),
        ("53509656752", "awe", 3, 5),
        ("1234567", "fear", 4, 5),
        (photo_id_from("https://flic.kr/p/2pkLsmh"), "sadness", None, None),
    ]
    assert labels.duplicates == 1
    assert labels.by_label["amusement"] == 1


def test_flic_kr_base58():
    # flic.kr/p/<base58 of the id>: "2" is 1, "21" is 58 + 0
    assert photo_id_from("https://flic.kr/p/2") == "1"
    assert photo_id_from("https://flic.kr/p/21") == "58"
    assert photo_id_from("not a photo") is None


def test_tsv_with_configured_columns(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("pid\tcls\tyes\tn\n101\tanger\t2\t3\n102\tcontentment\t3\t3\n")
    columns = LabelColumns(id="pid", label="cls", agree="yes", total="n")
    labels = read_labels(path, columns)
    assert [r.photo_id for r in labels.rows] == ["101", "102"]
    assert labels.rows[1].votes_agree == 3


@pytest.mark.parametrize(
    "content, columns, message",
    [
        ("id,label,agree\n1,awe,3\n", None, "no total column"),
        ("id,label,agree,total\n1,awe,3,5\n", LabelColumns(label="emo"), "no column 'emo'"),
        ("id,label,agree,total\n1,happiness,3,5\n", None, "unknown label 'happiness'.*amusement"),
        ("id,label,agree,total\nabc,awe,3,5\n", None, "not a Flickr photo id"),
        ("id,label,agree,total\n1,awe,6,5\n", None, "6 agreeing votes out of 5"),
        ("id,label,agree,total\n1,awe,x,5\n", None, "is not a vote count"),
        ("id,label,agree,total\n1,awe,3,5\n1,fear,3,5\n", None, "labelled both awe and fear"),
        ("id,label,agree,total\n", None, "no rows"),
        ("", None, "is empty"),
    ],
)
def test_bad_label_files(tmp_path, content, columns, message):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_labels(path, columns)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="label file not found"):
        read_labels(tmp_path / "nope.csv")


def test_custom_classes(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("id,label,agree,total\n1,happy,3,5\n")
    assert read_labels(path, classes=["happy", "sad"]).rows[0].label == "happy"


def test_real_emotion6_ground_truth(shared_data):
    labels = read_labels(shared_data / "emotion6" / "ground_truth.txt")
    assert labels.format == "emotion6"
    assert labels.classes == ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    assert len(labels.rows) == 1980
    assert sum(labels.by_label.values()) == 1980
    rows = {r.photo_id: r for r in labels.rows}
    # disgust/1.jpg: 0.133333 0.7 0 0.0666667 0.1 0 0 -> disgust, 0.7 x 15 = 10.5 -> 11 of 15
    assert rows["disgust_1"].label == "disgust"
    assert (rows["disgust_1"].votes_agree, rows["disgust_1"].votes_total) == (11, 15)
    # fear/1.jpg: 0.533333 fear -> 8 of 15
    assert (rows["fear_1"].label, rows["fear_1"].votes_agree) == ("fear", 8)
    # surprise/1.jpg: joy 0.233333 ties surprise 0.233333: the first column (joy) wins;
    # 0.233333 x 15 = 3.499995 -> 3
    assert (rows["surprise_1"].label, rows["surprise_1"].votes_agree) == ("joy", 3)
    assert all(0 < r.votes_agree <= 15 for r in labels.rows)


def test_emotion6_with_a_class_not_known(tmp_path):
    path = tmp_path / "ground_truth.txt"
    path.write_text(
        "[image_filename]\t[valence]\t[arousal]\t[prob. joy]\t[prob. boredom]\n"
        "joy/1.jpg\t5\t5\t0.6\t0.4\n"
    )
    with pytest.raises(UserError, match="unknown label.*boredom"):
        read_labels(path)


def test_emotion6_style_file_of_flickr_photos(tmp_path):
    path = tmp_path / "votes.txt"
    path.write_text(
        "[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t[prob. fear]\n"
        "53509656752.jpg\t3\t5\t0.2\t0.8\n"
    )
    labels = read_labels(path, classes=["anger", "fear"])
    assert [(r.photo_id, r.label, r.votes_agree, r.votes_total) for r in labels.rows] == [
        ("53509656752", "fear", 12, 15)
    ]
    assert not_flickr_ids(labels) == []
