package analysis

import "math"

// Distribution functions the run-level tests need: Student's t and
// Fisher's F, both through the regularized incomplete beta function.

// NormalCDF is the standard normal distribution function.
func NormalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// NormalQuantile is the inverse of NormalCDF (0 < p < 1).
func NormalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// StudentCDF is the distribution function of Student's t with df degrees of
// freedom (df > 0; +Inf gives the normal).
func StudentCDF(t, df float64) float64 {
	switch {
	case math.IsNaN(t) || math.IsNaN(df) || df <= 0:
		return math.NaN()
	case math.IsInf(df, 1) || df > 1e7:
		return NormalCDF(t)
	case math.IsInf(t, 1):
		return 1
	case math.IsInf(t, -1):
		return 0
	}
	tail := 0.5 * RegIncBeta(df/2, 0.5, df/(df+t*t)) // P(T > |t|)
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// StudentQuantile is the inverse of StudentCDF (0 < p < 1).
func StudentQuantile(p, df float64) float64 {
	switch {
	case math.IsNaN(p) || p <= 0 || p >= 1 || math.IsNaN(df) || df <= 0:
		return math.NaN()
	case math.IsInf(df, 1) || df > 1e7:
		return NormalQuantile(p)
	case p == 0.5:
		return 0
	case p < 0.5:
		return -StudentQuantile(1-p, df)
	}
	// Bracket above the normal quantile (t has heavier tails), then bisect:
	// the CDF is monotone, and 200 halvings reach float precision.
	lo, hi := 0.0, math.Max(1, 2*NormalQuantile(p))
	for StudentCDF(hi, df) < p {
		lo, hi = hi, 2*hi
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if StudentCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo <= 1e-12*hi {
			break
		}
	}
	return (lo + hi) / 2
}

// FisherCDF is the distribution function of the F distribution with d1 and
// d2 degrees of freedom.
func FisherCDF(f, d1, d2 float64) float64 {
	if math.IsNaN(f) || d1 <= 0 || d2 <= 0 {
		return math.NaN()
	}
	if f <= 0 {
		return 0
	}
	if math.IsInf(d2, 1) {
		// d1*F tends to chi-square with d1 degrees of freedom.
		return RegIncGammaP(d1/2, d1*f/2)
	}
	return RegIncBeta(d1/2, d2/2, d1*f/(d1*f+d2))
}

// RegIncBeta is the regularized incomplete beta function I_x(a, b), by the
// continued fraction of Numerical Recipes (modified Lentz), using the
// symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges slowly.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaFraction(a, b, x) / a
	}
	return 1 - front*betaFraction(b, a, 1-x)/b
}

func betaFraction(a, b, x float64) float64 {
	const tiny, eps = 1e-300, 1e-15
	guard := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c, d := 1.0, 1/guard(1-(a+b)*x/(a+1))
	h := d
	// step applies one coefficient of the fraction and returns the factor
	// it changed h by.
	step := func(num float64) float64 {
		d = 1 / guard(1+num*d)
		c = guard(1 + num/c)
		h *= d * c
		return d * c
	}
	for m := 1; m <= 10000; m++ {
		fm := float64(m)
		step(fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm)))
		if del := step(-(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))); math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// RegIncGammaP is the regularized lower incomplete gamma function P(a, x):
// a series below a+1, a continued fraction above.
func RegIncGammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return sum * math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i < 10000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return 1 - math.Exp(-x+a*math.Log(x)-lg)*h
}
