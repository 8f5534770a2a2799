"""classifier.topic: MS and a cell treatment, named in any language the corpus covers."""

from __future__ import annotations

import pytest

from classifier.topic import mentions_topic


@pytest.mark.parametrize("text", [
    "HSCT for MS in Moscow: what the programme costs",
    "Stammzelltherapie bei Multipler Sklerose",
    "células madre para la esclerosis múltiple",
    "cellules souches et SEP : ce que dit la recherche",
    "cellule staminali e sclerosi multipla",
    "рассеянный склероз и стволовые клетки",
    "komórki macierzyste w leczeniu SM",
    "células-tronco na esclerose múltipla",
    "stamcellen bij multiple sclerose",
    "multipl skleroz için kök hücre tedavisi",
    "Trasplante autologo de celulas progenitoras hematopoyeticas en esclerosis multiple",
    "多发性硬化的干细胞治疗",
    "多発性硬化症に対する幹細胞移植",
    "علاج التصلب المتعدد بالخلايا الجذعية",
    "Blodstamcellstransplantation vid multipel skleros",
    "Eigenblutstammzellen gegen Multiple Sklerose",
    "лечението на болните с МС с мезенхимни клетки",
    "FAQ: MS and cellular therapy at our centre",
    "Neural precursor cells given into the spinal fluid in progressive MS",
    "Les cellules mésenchymateuses et la sclérose en plaques",
    "células de cordón umbilical para la esclerosis múltiple",
])
def test_pages_naming_both_topics_are_found(text):
    assert mentions_topic(text)


@pytest.mark.parametrize("text", [
    "Stem cells for knee pain: book your injection",
    "Ten foods to eat with multiple sclerosis",
    "Cord blood banking: what parents should know",
    "Amyotrophic lateral sclerosis and stem cells",
])
def test_pages_naming_one_topic_are_not(text):
    assert not mentions_topic(text)
