"""The English rule: good enough on the paper's real titles and on short non-English posts.

Issue 4, item 3: keep >= 99% of the real (English) Reddit titles, reject >= 98% of short
non-English posts. The non-English sentences below were written for this test (10 languages,
12 each, 3 to 8 words: the length of a social-media title).
"""

import csv

import pytest

from emofuse.curation.language import (
    EnglishDetector,
    english_word_share,
    langdetect_backend,
    langdetect_probabilities,
)

NON_ENGLISH = {
    "de": [
        "Mein Hund hat heute Geburtstag",
        "Das ist der schönste Tag meines Lebens",
        "Ich habe endlich meinen Abschluss geschafft",
        "Diese Puppe im Keller macht mir Angst",
        "Wer parkt denn bitte so",
        "Unser neues Haus am See",
        "Meine Oma wird heute neunzig Jahre alt",
        "Gestern Nacht habe ich Geräusche gehört",
        "Schon wieder kein Platz im Zug",
        "Blick aus dem Fenster heute Morgen",
        "Er hat mir einen Antrag gemacht",
        "Was ist das für ein Tier",
    ],
    "fr": [
        "Mon chat dort sur le canapé",
        "Le plus beau jour de ma vie",
        "J'ai enfin eu mon diplôme",
        "Cette poupée me fait vraiment peur",
        "Les voisins font encore du bruit",
        "Notre nouvelle maison à la campagne",
        "Ma grand-mère fête ses cent ans",
        "Quelqu'un sait ce que c'est",
        "Il pleut encore une fois aujourd'hui",
        "Coucher de soleil sur la plage",
        "Il m'a demandé en mariage hier soir",
        "Je déteste les gens qui font ça",
    ],
    "es": [
        "Mi perro está muy feliz hoy",
        "El mejor día de mi vida",
        "Por fin terminé la universidad",
        "Esta muñeca me da mucho miedo",
        "Mis vecinos no me dejan dormir",
        "Nuestra nueva casa en el campo",
        "Mi abuela cumple cien años",
        "Alguien sabe qué es esto",
        "Otra vez llueve en la ciudad",
        "Atardecer en la playa con amigos",
        "Me pidió matrimonio anoche",
        "Odio cuando la gente hace eso",
    ],
    "it": [
        "Il mio gatto dorme sul divano",
        "Il giorno più bello della mia vita",
        "Finalmente mi sono laureato",
        "Questa bambola mi fa paura",
        "I vicini fanno ancora rumore",
        "La nostra nuova casa in campagna",
        "Mia nonna compie cento anni",
        "Qualcuno sa cosa sia questo",
        "Piove di nuovo oggi pomeriggio",
        "Tramonto sulla spiaggia con gli amici",
        "Mi ha chiesto di sposarlo ieri sera",
        "Odio quando la gente fa così",
    ],
    "pt": [
        "Meu cachorro está muito feliz hoje",
        "O melhor dia da minha vida",
        "Finalmente terminei a faculdade",
        "Essa boneca me dá muito medo",
        "Os vizinhos não me deixam dormir",
        "Nossa casa nova no interior",
        "Minha avó faz cem anos hoje",
        "Alguém sabe o que é isso",
        "Choveu de novo o dia inteiro",
        "Pôr do sol na praia com os amigos",
        "Ele me pediu em casamento ontem",
        "Odeio quando as pessoas fazem isso",
    ],
    "nl": [
        "Mijn hond is vandaag jarig",
        "De mooiste dag van mijn leven",
        "Eindelijk mijn diploma gehaald",
        "Deze pop op zolder is eng",
        "Wie parkeert er nou zo",
        "Ons nieuwe huis aan het water",
        "Mijn oma wordt vandaag negentig",
        "Weet iemand wat dit is",
        "Het regent alweer de hele dag",
        "Zonsondergang op het strand vanavond",
        "Hij heeft me ten huwelijk gevraagd",
        "Ik haat mensen die dat doen",
    ],
    "sv": [
        "Min hund fyller år idag",
        "Den bästa dagen i mitt liv",
        "Äntligen har jag tagit examen",
        "Den här dockan är riktigt läskig",
        "Grannarna väsnas igen i natt",
        "Vårt nya hus vid sjön",
        "Min mormor fyller nittio år",
        "Vet någon vad det här är",
        "Det regnar igen hela dagen",
        "Solnedgång vid havet ikväll",
        "Han friade till mig igår kväll",
        "Jag hatar när folk gör så",
    ],
    "pl": [
        "Mój pies ma dzisiaj urodziny",
        "Najpiękniejszy dzień w moim życiu",
        "W końcu skończyłem studia",
        "Ta lalka naprawdę mnie przeraża",
        "Sąsiedzi znowu hałasują w nocy",
        "Nasz nowy dom nad jeziorem",
        "Moja babcia kończy dziewięćdziesiąt lat",
        "Czy ktoś wie co to jest",
        "Znowu pada przez cały dzień",
        "Zachód słońca nad morzem",
        "Oświadczył mi się wczoraj wieczorem",
        "Nienawidzę kiedy ludzie tak robią",
    ],
    "id": [
        "Anjing saya sangat senang hari ini",
        "Hari terbaik dalam hidup saya",
        "Akhirnya saya lulus kuliah",
        "Boneka ini sangat menyeramkan",
        "Tetangga saya berisik lagi malam ini",
        "Rumah baru kami di desa",
        "Nenek saya berulang tahun ke sembilan puluh",
        "Ada yang tahu ini apa",
        "Hujan lagi sepanjang hari",
        "Matahari terbenam di pantai",
        "Dia melamar saya tadi malam",
        "Saya benci orang yang seperti itu",
    ],
    "tr": [
        "Köpeğim bugün çok mutlu",
        "Hayatımın en güzel günü",
        "Sonunda üniversiteyi bitirdim",
        "Bu oyuncak bebek beni korkutuyor",
        "Komşular yine çok gürültü yapıyor",
        "Göl kenarındaki yeni evimiz",
        "Babaannem doksan yaşına girdi",
        "Bunun ne olduğunu bilen var mı",
        "Bütün gün yine yağmur yağdı",
        "Sahilde gün batımı",
        "Dün gece bana evlenme teklif etti",
        "Böyle yapan insanlardan nefret ediyorum",
    ],
}

SHORT_ENGLISH = [
    "My dog turned ten today",
    "Found this doll in the attic",
    "Best day of my life",
    "Who parks like this",
    "Our new house by the lake",
    "Does anyone know what this is",
]


def real_titles(shared_data) -> list[str]:
    titles = []
    for path in sorted((shared_data / "emoclassifier-reddit").glob("processed_*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            titles += [row["title"] for row in csv.DictReader(handle)]
    return titles


@pytest.fixture(scope="module")
def hybrid() -> EnglishDetector:
    return EnglishDetector("hybrid", workers=1)


def test_test_set_covers_at_least_8_languages_of_short_sentences():
    assert len(NON_ENGLISH) >= 8
    assert all(len(sentences) >= 10 for sentences in NON_ENGLISH.values())
    assert all(len(s.split()) <= 8 for ss in NON_ENGLISH.values() for s in ss)


def test_hybrid_rejects_short_non_english_and_keeps_short_english(hybrid):
    sentences = [s for ss in NON_ENGLISH.values() for s in ss]
    accepted = [s for s in sentences if hybrid.is_english(s)]
    assert len(accepted) / len(sentences) <= 0.02, accepted
    assert all(hybrid.is_english(s) for s in SHORT_ENGLISH)


def test_hybrid_keeps_99_percent_of_the_real_titles(shared_data):
    titles = real_titles(shared_data)
    assert len(titles) == 3267
    # the parallel, cached path that curation uses (two workers)
    english = EnglishDetector("hybrid", workers=2).detect_many(titles)
    share = sum(english) / len(titles)
    assert share >= 0.99, share


def test_plain_langdetect_is_the_weaker_baseline_on_real_titles(shared_data):
    # why the hybrid exists: seeded langdetect's top language misses many short English titles
    titles = real_titles(shared_data)[::4]  # every 4th title: enough to show it, 4x faster
    plain = EnglishDetector("langdetect", workers=1).detect_many(titles)
    assert sum(plain) / len(titles) < 0.95


def test_detection_is_deterministic_and_parallel_equals_serial(shared_data):
    titles = real_titles(shared_data)[:2500] + [s for ss in NON_ENGLISH.values() for s in ss]
    serial = EnglishDetector("hybrid", workers=1).detect_many(titles)
    parallel = EnglishDetector("hybrid", workers=2).detect_many(titles)
    assert serial == parallel
    assert serial == EnglishDetector("hybrid", workers=1).detect_many(titles)


def test_vocabulary_excludes_words_more_frequent_in_other_languages():
    assert english_word_share("the house is on fire") == 1.0
    assert english_word_share("ist das nicht ein Tier") < 0.5
    assert english_word_share("") == 0.0


def test_rust_backend_gives_langdetect_probabilities_bit_for_bit(shared_data):
    assert langdetect_backend() == "rust"  # langdetect-rs is a dependency: the fast path is on
    titles = real_titles(shared_data)[::3] + [s for ss in NON_ENGLISH.values() for s in ss]
    for title in titles:
        assert langdetect_probabilities(title, "rust") == langdetect_probabilities(title, "python")
