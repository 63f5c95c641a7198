"""Synthetic ordinary live-chat messages, labelled "neither", added to the
chat model's training set.

Davidson's tweets hold almost no live-stream chat: emotes, game talk and
"violent" game verbs ("kill", "destroy", "wrecked") are rare, and 83% of the
tweets are offensive or hateful, so a model trained on them alone flags short,
unfamiliar chat. These templates are written independently of the evaluation
set ml/testdata/ordinary_chat.txt (which is never trained on); the vocabulary
of a game chat overlaps by nature.
"""
import random

EMOTES = ["PogChamp", "Pog", "KEKW", "LUL", "OMEGALUL", "Kappa", "monkaS", "Sadge", "PepeLaugh",
          "pepeD", "catJAM", "EZ", "Clap", "5Head", "LULW", "PauseChamp", "WutFace", "Kreygasm",
          "BibleThump", "HeyGuys", "SeemsGood", "CoolCat", "TwitchUnity", "PJSalt", "NotLikeThis",
          "FeelsStrongMan", "peepoHappy", "widepeepoHappy", "Copium", "Aware", "ICANT", "xdd",
          "Stare", "pepeMeltdown", "PogU", "POGGERS", "ResidentSleeper", "DansGame", "Jebaited"]
GREET = ["hi", "hello", "hey", "yo", "sup", "hiya", "good morning", "good evening", "greetings",
         "heyo", "hey hey", "morning", "evening all", "hello there"]
WHO = ["chat", "everyone", "all", "streamer", "mods", "friends", "guys", "folks", "fam", "team"]
PLACES = ["canada", "france", "japan", "texas", "poland", "australia", "mexico", "sweden", "india",
          "the uk", "spain", "korea", "chile", "norway", "italy"]
VERBS = ["kill", "destroy", "wreck", "smash", "crush", "finish", "shoot", "snipe", "stab", "punch",
         "nuke", "burn", "blow up", "take out", "eliminate", "hunt down", "beat", "knock out", "execute",
         "obliterate", "demolish", "delete"]
TARGETS = ["him", "them", "her", "the boss", "that guy", "the sniper", "the tank", "the healer",
           "the dragon", "the zombies", "their base", "the tower", "the jungler", "the last one",
           "the enemy team", "the raid boss", "that camper", "the support"]
PAST = ["got wrecked", "got destroyed", "got rekt", "got smoked", "got bodied", "got deleted",
        "got one shot", "got obliterated", "got clapped", "got owned", "got demolished", "died",
        "got stomped", "got crushed", "got sniped", "got cooked", "got farmed", "got outplayed"]
SUBJ = ["he", "she", "they", "the boss", "that guy", "the enemy", "their team", "the jungler",
        "the streamer", "my teammate", "the other squad", "the tank"]
REACT = ["that was sick", "that was insane", "so clean", "crazy play", "what a play", "no way",
         "unreal", "huge", "massive", "big brain", "galaxy brain", "nuts", "filthy", "disgusting shot",
         "absolutely nasty", "so good", "incredible", "clutch", "godlike", "legendary", "too good",
         "wild", "actually insane", "not bad", "wow", "woah", "holy", "sheesh", "bro what", "yooo"]
GAME = ["push {0}", "go {0}", "rotate {0}", "hold {0}", "watch {0}", "check {0}", "smoke {0}",
        "flash {0}", "peek {0}"]
SPOTS = ["a", "b", "mid", "long", "short", "top", "bot", "left", "right", "ramp", "heaven", "site",
         "tower", "bridge", "the door", "the window", "the stairs", "the roof"]
Q = ["what game is this", "what rank is this", "how old is this game", "is this the new patch",
     "what settings do you use", "which character is that", "what's the build", "is this modded",
     "how many deaths so far", "what difficulty", "when does the stream end", "is this a remake",
     "what's your fov", "dpi?", "how do you get that skin", "where is the save point",
     "is there a checkpoint", "what did i miss", "did he beat the boss yet", "what's the record"]
MISC = ["gg", "ggs", "gg wp", "wp", "glhf", "gl", "ez", "nt", "nice try", "unlucky", "so close",
        "rip", "f", "o7", "lol", "lmao", "haha", "xd", "omg", "bruh", "true", "real", "based",
        "same", "mood", "facts", "fr", "w", "l", "hype", "lets go", "lesgo", "first", "brb", "back",
        "afk", "ty", "thx", "np", "yw", "<3", ":)", ":d", ";)", "noo", "nooo", "yes", "yess",
        "pog", "poggers", "ok", "k", "hmm", "?", "??", "!!", "wait what", "huh", "love this",
        "this is fun", "chill stream", "cozy stream", "vibes", "great music", "song?", "skill issue",
        "ff 15", "throwing", "bait", "cheese it", "speedrun strats", "any%", "new pb", "reset",
        "camping", "lag", "ping", "frozen", "muted", "mic", "cam", "volume up", "too loud"]


def _elong(w, rnd):
    if len(w) > 1 and rnd.random() < 0.15:
        i = rnd.randrange(len(w))
        return w[: i + 1] + w[i] * rnd.randint(1, 4) + w[i + 1 :]
    return w


def _case(s, rnd):
    r = rnd.random()
    if r < 0.15:
        return s.upper()
    if r < 0.35:
        return s.capitalize()
    return s


def message(rnd: random.Random) -> str:
    k = rnd.randrange(11)
    if k == 0:
        s = f"{rnd.choice(GREET)} {rnd.choice(WHO)}"
        if rnd.random() < 0.3:
            s += f" from {rnd.choice(PLACES)}"
    elif k == 1:
        e = rnd.choice(EMOTES)
        s = " ".join([e] * rnd.randint(1, 6))
    elif k == 2:
        s = f"{rnd.choice(VERBS)} {rnd.choice(TARGETS)}"
        if rnd.random() < 0.3:
            s += rnd.choice([" now", " quick", "!!", " pls", " already", " lol"])
    elif k == 3:
        s = f"{rnd.choice(SUBJ)} {rnd.choice(PAST)}"
        if rnd.random() < 0.3:
            s += " " + rnd.choice(EMOTES)
    elif k == 4:
        s = rnd.choice(REACT)
        if rnd.random() < 0.4:
            s += " " + rnd.choice(EMOTES)
    elif k == 5:
        s = rnd.choice(GAME).format(rnd.choice(SPOTS))
    elif k == 6:
        s = rnd.choice(Q)
    elif k == 7:
        s = " ".join(rnd.choice(MISC) for _ in range(rnd.randint(1, 3)))
    elif k == 8:
        s = f"{rnd.choice(REACT)} {rnd.choice(SUBJ)} {rnd.choice(PAST)}"
    elif k == 9:
        s = f"@{rnd.choice(['ninja', 'shroud', 'pokimane', 'xqc', 'mod_bob', 'anna_22', 'zed'])} {rnd.choice(MISC + REACT)}"
    else:
        s = f"{rnd.choice(EMOTES)} {rnd.choice(REACT)} {rnd.choice(EMOTES)}"
    s = " ".join(_elong(w, rnd) for w in s.split(" "))
    return _case(s, rnd)


def messages(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [message(rnd) for _ in range(n)]
