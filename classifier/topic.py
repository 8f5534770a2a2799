"""Does a text mention both topics: multiple sclerosis and a stem-cell or cell treatment?

A crawl keeps every page that does, even when the relevance model says off-topic, so that no
relevant page is lost for good (an analyst can still find and label it). The test is plain word
matching in every language the corpus covers; it is deliberately generous, since a page it keeps
costs only a row, while a page it drops is never seen.
"""

from __future__ import annotations

import re

# Multiple sclerosis in the corpus's languages, and the abbreviations that name it beside a
# cell treatment (checked case-sensitively: "MS", "SM", "EM", "SEP", "РС", Bulgarian "МС").
_MS_WORDS = (
    r"multiple[nr]? sklero\w*|multiple sclerose|sclerosis multiplex|multiple sclerosis|multipla skleroz\w*|"
    r"multipl skleroz\w*|esclerosis m[uú]ltiple|esclerose m[uú]ltipla|scl[ée]rose en plaques|sclerosi multipla|"
    r"stwardnieni\w* rozsian\w*|roztrou[sš]en\w* skler[oó]z\w*|multipel skleros\w*|multippel sklerose|"
    r"multiple sklerose|pesäkekovettumatauti|sclerozei? multiple|szklerózis multiplex|"
    r"рассеянн\w* склероз\w*|розсіян\w* склероз\w*|множествен\w* склероз\w*|σκλήρυνση κατά πλάκας|"
    r"טרשת נפוצה|التصلب (?:العصبي )?المتعدد|다발성 경화증|multipl skleroz|"
    r"relapsing[- ]remitting|rrms|spms|ppms|demyelinating disease")
# Arabic and CJK words take prefixes or sit between other letters: matched without word boundaries.
_MS = re.compile(rf"\b(?:{_MS_WORDS})|多发性硬化|多發性硬化|多発性硬化|التصلب (?:العصبي )?المتعدد", re.IGNORECASE)
_MS_ABBREVIATION = re.compile(r"\b(?:MS|SM|EM|SEP|РС|МС)\b")

_CELL_WORDS = (
    r"stem[- ]?cells?|a?hsct|hscts|msc|mscs|m[eé]senchym\w*|mesenquim\w*|mezenchym\w*|umbilical cord|cord tissue|"
    r"cord[oó]n umbilical|cordão umbilical|cordon ombilical|cordone ombelicale|nabelschnur\w*|"
    r"cellular therap\w*|cellular treatments?|neural precursor cells?|"
    r"exosom\w*|secretome|svf|stromal vascular|bone marrow transplant\w*|cell therap\w*|cell[- ]based|"
    r"regenerative medicine|c[ée]lulas?[- ](?:madre|tronco|estaminais)|"
    r"cellules? souches?|cellul[ae] staminal\w*|staminal\w*|kom[oó]r\w* macierzyst\w*|macierzyst\w*|"
    r"kök hücre\w*|kmenov\w* buň\w*|βλαστοκύτταρ\w*|"
    r"стволов\w*|трансплантаци\w* (?:костного мозга|гемопоэтических)|трансплантаці\w*|гемопоэтическ\w*|"
    r"autologous (?:haemato|hemato)poietic|(?:haemato|hemato)poietic stem|h[ae]matopoy\w*|h[ée]matopo[iï][ée]ti\w*|"
    r"ematopoietic\w*|h[äa]matopoet\w*|hematopoetyczn\w*|hematopoetick\w*|гемопоэтическ\w*|гемопоетичн\w*|"
    r"progenitor[ae]s? hematopoy\w*|c[ée]lulas progenitoras|cellules progénitrices|trasplante aut[oó]logo|"
    r"przeszczep\w* (?:komórek|szpiku)|przeszczepia\w*|autologiczn\w* przeszczep\w*|autoprzeszczep\w*|"
    r"transplant\w*|trasplant\w*|trapiant\w*|transplantac\w*|przeszczep\w*|nakil\w*|трансплантац\w*|"
    r"autogreffe\w*|greffe de cellules|autotrapiant\w*|autotrasplant\w*|autotransplant\w*|"
    r"zelltherapi\w*|vorläuferzell\w*|th[ée]rapie cellulaire|terapia cel+ular\w*|terapi[ae] cellulare|"
    r"terapia komórkow\w*|celtherapie|hücre tedavi\w*|клеточн\w* терапи\w*|клітинн\w* терапі\w*|"
    r"мезенхим\w*|мезенхім\w*|стовбуров\w*|cellules progénitrices|cellule progenitrici|"
    r"בתאי גזע|תאי גזע|줄기세포")
# Arabic and CJK words, and the Germanic stem-cell words that sit inside compounds
# ("Blodstamcellstransplantation", "Eigenblutstammzellen"), are matched without word boundaries.
_CELL = re.compile(rf"\b(?:{_CELL_WORDS})|stamcel|stammzell|干细胞|幹細胞|الخلايا الجذعية|خلايا جذعية", re.IGNORECASE)


def mentions_ms(text: str) -> bool:
    return bool(_MS.search(text) or _MS_ABBREVIATION.search(text))


def mentions_cell_treatment(text: str) -> bool:
    return bool(_CELL.search(text))


def mentions_topic(text: str) -> bool:
    """True when `text` names MS (any covered language, or its abbreviation) and a cell treatment."""
    return mentions_ms(text) and mentions_cell_treatment(text)  # the cheaper test first
