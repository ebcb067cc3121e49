"""Label Studio predictions built from brandner's entities."""

from brandner.data.labelstudio import prediction


def test_a_prediction_carries_each_entity_with_its_offsets_type_and_score():
    entities = [{"word": "特步", "type": "SHOE", "start": 3, "end": 5, "score": 0.91},
                {"word": "李宁", "type": "HP", "start": 6, "end": 8}]
    made = prediction(entities, "ecommerce-1", score=0.5)
    assert made["model_version"] == "ecommerce-1" and made["score"] == 0.5
    first, second = made["result"]
    assert first == {"id": "e0", "from_name": "label", "to_name": "text", "type": "labels", "score": 0.91,
                     "value": {"start": 3, "end": 5, "text": "特步", "labels": ["SHOE"]}}
    assert "score" not in second and second["id"] == "e1"


def test_names_of_the_labelling_config_are_used_and_no_score_is_left_out():
    made = prediction([], "m", from_name="brand", to_name="title")
    assert made == {"model_version": "m", "result": []}
    one = prediction([{"word": "a", "type": "T", "start": 0, "end": 1}], "m", from_name="brand", to_name="title")
    assert one["result"][0]["from_name"] == "brand" and one["result"][0]["to_name"] == "title"
