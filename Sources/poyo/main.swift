import POYO
