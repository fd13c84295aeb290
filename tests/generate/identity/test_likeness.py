"""Likeness scores on real photos: the same person scores high, someone else low, no face 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from photogen.generate.identity.likeness import score_likeness

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
