"""Likeness scores on real photos: the same person scores high, someone else low, no face 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photogen.generate.identity.likeness import (
    MATCH_THRESHOLD,
    MEASURED_FALSE_MATCHES,
    centroid_scores,
    derive_threshold,
    match_rates,
    score_likeness,
)

from .conftest import load_rgb_file, person_from_photos

# measured on shared/faces with SFace (photos 1-4 as references, photo 5 held out): same person
# 0.62-0.88, different people at most 0.27
SAME_MIN = 0.55
DIFFERENT_MAX = 0.35


@pytest.fixture(scope="module")
def people(real_faces: dict) -> dict:
    return {who: person_from_photos(real_faces, who, i + 1, who) for i, who in enumerate(real_faces)}


@pytest.mark.parametrize("who", ["bbt_amy", "bbt_penny", "bbt_sheldon", "bbt_leonard"])
def test_held_out_photo_scores_its_person_high_and_others_low(
    who: str, people: dict, real_faces: dict, face_analyzer
) -> None:  # noqa: ANN001
    held_out = real_faces[who][4][1]
    own = score_likeness(held_out, [people[who]], face_analyzer).people[0]
    assert own.found and own.score > SAME_MIN and own.note == "matched"
    for other in people:
        if other != who:
            result = score_likeness(held_out, [people[other]], face_analyzer).people[0]
            assert result.score < DIFFERENT_MAX and result.note != "matched"


def test_each_person_takes_one_face(people: dict, real_faces: dict, face_analyzer) -> None:  # noqa: ANN001
    one_face = real_faces["bbt_amy"][4][1]
    result = score_likeness(one_face, [people["bbt_penny"], people["bbt_amy"]], face_analyzer)
    penny, amy = result.people
    assert amy.found and amy.score > SAME_MIN
    assert not penny.found and penny.score == 0.0 and "no face left" in penny.note
    assert result.score == pytest.approx(amy.score / 2)


def test_group_photo_finds_both_people(people: dict, shared_people: Path, face_analyzer) -> None:  # noqa: ANN001
    group = load_rgb_file(shared_people / "groups" / "bbt3.jpg")  # Sheldon, Howard, Penny, Raj, Leonard
    result = score_likeness(group, [people["bbt_penny"], people["bbt_sheldon"]], face_analyzer)
    assert result.faces_found >= 5
    assert all(p.found and p.score > SAME_MIN for p in result.people)
    assert result.people[0].box != result.people[1].box


def test_no_face_scores_zero_and_says_so(people: dict, shared_people: Path, face_analyzer) -> None:  # noqa: ANN001
    wall = load_rgb_file(shared_people / "noface" / "brick.jpg")
    result = score_likeness(wall, [people["bbt_amy"]], face_analyzer)
    assert result.score == 0.0 and result.faces_found == 0
    assert result.people[0].note == "no face found in the image" and not result.people[0].found
    assert result.to_json()["people"][0]["note"] == "no face found in the image"  # type: ignore[index]


def test_the_threshold_is_the_first_step_above_every_different_person_score() -> None:
    different, same = np.array([0.1, 0.2, 0.461]), np.array([0.46, 0.6, 0.9])
    assert derive_threshold(different) == 0.47
    assert derive_threshold(np.array([0.47])) == 0.48  # equal to a false match is still a match
    assert match_rates(same, different, 0.47) == (0.0, pytest.approx(1 / 3))
    assert match_rates(same, different, 0.2) == (pytest.approx(2 / 3), 0.0)


def test_match_threshold_gives_the_stated_false_match_rate_on_real_faces(shared_people: Path, face_analyzer) -> None:  # noqa: ANN001
    """The threshold in the code is the one the labelled faces give, and its false-match rate is as stated."""
    from bench.likeness_threshold import portraits

    same, different = centroid_scores(portraits(shared_people, face_analyzer))
    false_matches, comparisons = MEASURED_FALSE_MATCHES
    assert len(different) == comparisons and len(same) == 94
    assert derive_threshold(different) == MATCH_THRESHOLD
    fmr, fnmr = match_rates(same, different, MATCH_THRESHOLD)
    assert fmr * comparisons == false_matches and fnmr == 0.0
    # the old threshold let different people through
    assert match_rates(same, different, 0.36)[0] > 0.01
