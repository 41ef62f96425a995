"""A generated, labelled set of short customer complaints (EN + ES) for theme-discovery quality.

Each text has a known reason; like real service posts it carries brand names, @handles, URLs,
flight/ticket numbers and times, so a theme model that clusters on those instead of on the
problem scores low. Two template sets: ``part="dev"`` (used to choose settings) and
``part="test"`` (different wordings, never looked at while tuning).
"""
from __future__ import annotations

import random

BRANDS = ["@united", "@Delta", "Frontier", "@AmericanAir", "Iberia", "@VuelingAirlines", "@SouthwestAir", "JetBlue",
          "@BancoHorizonte", "KiteBank"]
PLACES = ["Denver", "Chicago", "Madrid", "Boston", "Newark", "Barcelona", "LAX", "JFK"]

REASONS = {
    "lost_luggage": {
        "dev": ["{b} my bag never showed up in {p}, {n} hours at the carousel", "still no sign of my suitcase {b}, flight {f}",
                "{b} lost my luggage again. claim #{n} and nobody answers", "where is my bag {b}?? landed in {p} {n}h ago",
                "{b} mi maleta no ha llegado a {p}, llevo {n} horas esperando", "{b} perdieron mi equipaje, reclamación {n}"],
        "test": ["{b} baggage claim says my suitcase is in another city, day {n}", "arrived in {p}, my luggage did not {b}",
                 "{b} {n} days without my checked bag, no updates", "{b} ¿dónde está mi maleta? vuelo {f}, nadie sabe nada"],
    },
    "flight_delay": {
        "dev": ["{b} flight {f} delayed again, {n} hours stuck at {p}", "{b} delayed {n} times today, missed my connection",
                "sitting on the tarmac in {p} for {n} hours {b}", "{b} another delay on {f}. this is ridiculous",
                "{b} vuelo {f} con {n} horas de retraso en {p}", "{b} otra vez retrasado, perdí la conexión"],
        "test": ["{b} we boarded {n} hours late and nobody explained why", "{b} departure pushed back again, {n}h late out of {p}",
                 "{b} late late late. {f} was supposed to leave at {n}pm", "{b} el vuelo salió {n} horas tarde y sin explicación"],
    },
    "refund": {
        "dev": ["{b} still waiting for my refund after {n} weeks", "{b} cancelled my flight and won't refund the ticket",
                "{b} where is my refund? case {n}, it's been a month", "{b} promised a refund {n} days ago, nothing yet",
                "{b} sigo esperando el reembolso desde hace {n} semanas", "{b} me cancelaron el vuelo y no devuelven el dinero"],
        "test": ["{b} my money still hasn't come back for the cancelled trip, {n} days", "{b} refund request {n} denied for no reason",
                 "{b} you owe me ${n} for a flight you cancelled", "{b} el reembolso de {n} euros no aparece en mi cuenta"],
    },
    "rude_staff": {
        "dev": ["{b} the gate agent in {p} was incredibly rude to us", "{b} flight attendant yelled at my kid on {f}",
                "{b} your staff at {p} treated us like garbage", "{b} rudest customer service agent ever, name tag {n}",
                "{b} el personal de la puerta en {p} fue muy maleducado", "{b} la azafata nos trató fatal en el vuelo {f}"],
        "test": ["{b} the crew on {f} were condescending and dismissive", "{b} agent at the {p} desk laughed at me when I asked for help",
                 "{b} never been spoken to so disrespectfully, gate {n}", "{b} qué mala educación la del agente en {p}"],
    },
    "website_error": {
        "dev": ["{b} your website crashed during checkout, error {n}", "{b} app keeps logging me out when I try to check in",
                "{b} can't book online, the payment page just spins {u}", "{b} site down again?? error {n} on {u}",
                "{b} la web da error {n} al pagar el billete", "{b} la app se cierra cuando intento facturar"],
        "test": ["{b} check-in page won't load on my phone, tried {n} times", "{b} booking engine broken, seats vanish at the last step {u}",
                 "{b} got charged but the website says no booking exists, ref {n}", "{b} no puedo entrar en mi cuenta de la app desde hace {n} días"],
    },
    "overbooking": {
        "dev": ["{b} bumped from {f} because you overbooked it", "{b} overbooked flight and they gave my seat away in {p}",
                "{b} denied boarding with a confirmed ticket, {n} of us", "{b} oversold {f} again and nobody gets compensated",
                "{b} overbooking en el vuelo {f}, nos dejaron en tierra", "{b} vendieron mi asiento, vuelo sobrevendido en {p}"],
        "test": ["{b} they said the plane was full although I had a seat assignment {n}", "{b} involuntarily bumped at {p}, family of {n}",
                 "{b} my confirmed seat was given to someone else on {f}", "{b} nos negaron el embarque por exceso de reservas"],
    },
    "hold_time": {
        "dev": ["{b} on hold for {n} minutes and still no agent", "{b} called customer service {n} times, hung up on each time",
                "{b} your phone line says wait time {n} hours. seriously?", "{b} can't reach anyone by phone, {n} min on hold",
                "{b} llevo {n} minutos al teléfono y nadie contesta", "{b} imposible hablar con atención al cliente"],
        "test": ["{b} the hotline queue is {n} minutes long, every single day", "{b} chat agent left and I was back in the queue for {n} min",
                 "{b} nobody picks up the phone at {p} customer care", "{b} la línea de atención me cuelga después de {n} minutos"],
    },
    "hidden_fees": {
        "dev": ["{b} charged me ${n} for a carry-on, nowhere on the booking", "{b} surprise ${n} seat fee at checkout",
                "{b} why is there a ${n} fee I never agreed to", "{b} hidden fees everywhere, final price ${n} more than shown",
                "{b} me cobraron {n} euros por la maleta de mano sin avisar", "{b} comisión oculta de {n} euros en la reserva"],
        "test": ["{b} the price jumped by ${n} on the last page with 'service charges'", "{b} extra {n} dollars for printing a boarding pass??",
                 "{b} bag fee was never mentioned until the gate, ${n}", "{b} el precio final tenía {n} euros de cargos que nadie explicó"],
    },
}


def generate(n: int = 2000, part: str = "dev", seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, reason) pairs from the ``part`` template set, reproducibly."""
    rng = random.Random(f"{part}-{seed}")
    reasons = sorted(REASONS)
    out = []
    for i in range(n):
        reason = reasons[i % len(reasons)]
        template = rng.choice(REASONS[reason][part])
        text = template.format(b=rng.choice(BRANDS), p=rng.choice(PLACES), n=rng.randint(2, 400),
                               f=f"{rng.choice('UADFBI')}{rng.choice('AXL')}{rng.randint(100, 2999)}",
                               u=f"https://www.{rng.choice(['united', 'delta', 'iberia', 'kite'])}.com/{rng.choice(['book', 'checkin', 'pay'])}")
        if rng.random() < 0.3:
            text = f"{text} {rng.choice(BRANDS)}"
        if rng.random() < 0.2:
            text += rng.choice([" #fail", " 😡", " smh", " #neveragain", " thanks for nothing", " gracias por nada"])
        out.append((text, reason))
    rng.shuffle(out)
    return out
