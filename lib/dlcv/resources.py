"""Where to go next (chapter 16): what the course built, and its name in the field's libraries.

Every function and layer the course wrote from scratch has a counterpart in the
libraries people use at scale. :data:`EQUIVALENTS` holds one :class:`Equivalent` per
``dlcv`` name: what it is, the chapter that built it, its PyTorch / torchvision
counterpart and, where one exists, its OpenCV, scikit-image, scikit-learn, SciPy,
pycocotools or dlib counterpart. Chapter 16 renders the records as tables with
:func:`markdown_table`.

The records are checked by ``tests/test_resources.py``: every ``dlcv`` name and every
name of an installed library resolves by import (:func:`resolve`), so a renamed function
breaks the test, and every public function and class of the core modules (``conv``,
``pool``, ``layers``, ``optim``) has a record, so the table cannot silently go stale.
PyTorch is not a dependency of the course: its names were checked against PyTorch's own
documentation and sources when the table was written (chapter 16 says how), and the test
resolves them too wherever ``torch`` is installed.

>>> from dlcv.resources import EQUIVALENTS, resolve
>>> record = next(e for e in EQUIVALENTS if e.dlcv == "dlcv.detect.nms")
>>> record.torch
('torchvision.ops.nms',)
>>> resolve("dlcv.detect.nms").__name__
'nms'
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass

__all__ = [
    "CORE_MODULES",
    "EQUIVALENTS",
    "PARTS",
    "Equivalent",
    "by_part",
    "markdown_table",
    "resolve",
]

#: The core modules whose every public function and class must have a record.
CORE_MODULES = ("dlcv.conv", "dlcv.pool", "dlcv.layers", "dlcv.optim")

#: Groups of the tables, in the order of the course.
PARTS = {
    "kernels": "Convolution and pooling (chapters 2-5)",
    "layers": "Layers, losses and optimizers (chapters 3, 6)",
    "training": "Training, checking and transfer (chapters 6-9)",
    "applications": "Faces, driving and a robot arm (chapters 10-12)",
    "limits": "Limits and outlook (chapters 13-15)",
}


@dataclass(frozen=True)
class Equivalent:
    """One thing the course built and its counterparts elsewhere.

    Attributes
    ----------
    dlcv : str
        Dotted name in the course library, e.g. ``"dlcv.conv.conv2d"``.
    what : str
        What it is, in a few words.
    chapter : int
        The chapter that builds or first uses it.
    part : str
        A key of :data:`PARTS` (which table it goes in).
    torch : tuple of str
        Dotted names in ``torch`` or ``torchvision`` (empty when there is none).
    other : tuple of str
        Dotted names in OpenCV (``cv2``), scikit-image (``skimage``), scikit-learn
        (``sklearn``), SciPy, NumPy, pycocotools, dlib, fairlearn or pybullet: libraries the
        course installs, so the test resolves every one of them.
    note : str
        What differs, when something does (empty otherwise).
    """

    dlcv: str
    what: str
    chapter: int
    part: str
    torch: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    note: str = ""


def _e(dlcv, what, chapter, part, torch=(), other=(), note=""):
    return Equivalent(f"dlcv.{dlcv}", what, chapter, part, tuple(torch), tuple(other), note)


#: One record per dlcv name, in the order of the course.
# fmt: off
EQUIVALENTS: tuple[Equivalent, ...] = (
    # ---------------------------------------------------------------- conv (chapters 2-3)
    _e("conv.correlate2d", "cross-correlation of one image with one kernel", 2, "kernels",
       ["torch.nn.functional.conv2d"],
       ["scipy.signal.correlate2d", "scipy.ndimage.correlate", "cv2.filter2D"],
       "torch wants (N, C, H, W) tensors; cv2.filter2D keeps the size and pads by reflection"),
    _e("conv.convolve2d", "true convolution (kernel flipped)", 2, "kernels",
       ["torch.flip", "torch.nn.functional.conv2d"],
       ["scipy.signal.convolve2d", "scipy.ndimage.convolve"],
       "no framework flips the kernel: flip it yourself, then correlate"),
    _e("conv.output_size", "output length of a convolution along one axis", 2, "kernels",
       ["torch.nn.Conv2d"], [], "the formula is in the Conv2d documentation"),
    _e("conv.resolve_padding", "a padding argument as (top, bottom), (left, right)", 2,
       "kernels", ["torch.nn.functional.pad"], ["numpy.pad"],
       "conv2d also takes padding='same' or 'valid'"),
    _e("conv.strided_slice", "slice of count samples step apart", 2, "kernels", [], [],
       "an indexing helper: frameworks do it inside the kernel"),
    _e("conv.tap_slices", "the input window each kernel tap sees", 2, "kernels", [], [],
       "an indexing helper: frameworks do it inside the kernel"),
    _e("conv.check_conv2d_args", "argument checks of conv2d", 3, "kernels", [], [],
       "frameworks check inside conv2d"),
    _e("conv.conv2d", "multi-channel convolution layer, forward", 3, "kernels",
       ["torch.nn.functional.conv2d"], []),
    _e("conv.im2col", "patches as matrix columns", 3, "kernels",
       ["torch.nn.functional.unfold"], ["skimage.util.view_as_windows"]),
    _e("conv.col2im", "columns added back onto the image (im2col's adjoint)", 6, "kernels",
       ["torch.nn.functional.fold"], []),
    _e("conv.conv2d_backward", "gradients of conv2d", 6, "kernels",
       ["torch.nn.grad.conv2d_input", "torch.nn.grad.conv2d_weight", "torch.autograd.grad"],
       [], "autograd computes them for you"),
    # ---------------------------------------------------------------- pool (chapters 4-5)
    _e("pool.max_pool2d", "max pooling", 4, "kernels",
       ["torch.nn.functional.max_pool2d"], ["skimage.measure.block_reduce"],
       "block_reduce pools non-overlapping blocks only (stride = size)"),
    _e("pool.avg_pool2d", "average pooling", 4, "kernels",
       ["torch.nn.functional.avg_pool2d"], ["skimage.measure.block_reduce"]),
    _e("pool.max_pool2d_backward", "gradient of max pooling", 6, "kernels",
       ["torch.nn.functional.max_unpool2d", "torch.autograd.grad"], [],
       "max_unpool2d routes values to the recorded maxima, as the gradient does"),
    _e("pool.avg_pool2d_backward", "gradient of average pooling", 6, "kernels",
       ["torch.autograd.grad"], []),
    _e("pool.window_starts", "first index of every pooling window", 4, "kernels", [], [],
       "a teaching helper"),
    _e("pool.coverage", "which pixels some pooling window reads", 4, "kernels", [], [],
       "a teaching helper"),
    _e("pool.window_owner", "which window's tile holds each pixel", 4, "kernels", [], [],
       "a teaching helper"),
    _e("shift.blur_pool", "anti-aliased pooling (blur, then subsample)", 5, "kernels", [],
       ["scipy.ndimage.gaussian_filter"], "the anti-aliased pooling of Zhang (2019)"),
    # ---------------------------------------------------------------- layers (chapters 3, 6)
    _e("layers.Layer", "base class: parameters, gradients, train/eval mode", 6, "layers",
       ["torch.nn.Module"], []),
    _e("layers.Conv2D", "convolution layer", 3, "layers", ["torch.nn.Conv2d"], []),
    _e("layers.MaxPool2D", "max-pooling layer", 4, "layers", ["torch.nn.MaxPool2d"], []),
    _e("layers.ReLU", "rectified linear unit", 6, "layers", ["torch.nn.ReLU"], []),
    _e("layers.Flatten", "(N, C, H, W) to (N, C*H*W)", 6, "layers", ["torch.nn.Flatten"], []),
    _e("layers.Dense", "fully connected layer", 6, "layers", ["torch.nn.Linear"], [],
       "our weight is (in, out), torch's is (out, in)"),
    _e("layers.Dropout", "inverted dropout", 6, "layers", ["torch.nn.Dropout"], []),
    _e("layers.Sequential", "a stack of layers", 6, "layers", ["torch.nn.Sequential"], []),
    _e("layers.evaluation_mode", "evaluation mode inside a block", 6, "layers",
       ["torch.nn.Module.eval", "torch.no_grad"], [],
       "ours restores the previous mode; in torch call eval(), later train()"),
    _e("layers.softmax", "row-wise softmax", 6, "layers", ["torch.nn.functional.softmax"],
       ["scipy.special.softmax"]),
    _e("layers.softmax_cross_entropy", "mean cross-entropy and its gradient", 6, "layers",
       ["torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss"],
       ["sklearn.metrics.log_loss"], "torch takes the logits; log_loss takes probabilities"),
    _e("optim.SGD", "SGD with momentum and weight decay", 6, "layers", ["torch.optim.SGD"],
       ["sklearn.linear_model.SGDClassifier"],
       "SGDClassifier trains linear models only"),
    _e("optim.Adam", "Adam", 6, "layers", ["torch.optim.Adam"], []),
    # ---------------------------------------------------------------- training (chapters 6-9)
    _e("train.fit", "mini-batch training with validation and early stopping", 6, "training",
       ["torch.utils.data.DataLoader", "torch.optim.Optimizer.step"], [],
       "PyTorch has no fit(): you write the loop (or use a library such as Lightning)"),
    _e("train.train_epoch", "one shuffled pass over the data", 6, "training",
       ["torch.utils.data.DataLoader"], []),
    _e("train.evaluate", "loss and accuracy in evaluation mode", 6, "training",
       ["torch.no_grad", "torch.nn.Module.eval"], ["sklearn.metrics.accuracy_score"]),
    _e("train.predict_proba", "class probabilities", 6, "training",
       ["torch.nn.functional.softmax"], []),
    _e("train.activations", "every layer's output for an input", 6, "training",
       ["torch.nn.Module.register_forward_hook"], []),
    _e("gradcheck.check_layer", "backward pass against centred differences", 6, "training",
       ["torch.autograd.gradcheck"], ["scipy.optimize.check_grad"]),
    _e("gradcheck.numerical_gradient", "centred-difference gradient", 6, "training",
       ["torch.autograd.gradcheck"], ["scipy.optimize.approx_fprime"]),
    _e("augment.hflip", "mirror left-right", 7, "training",
       ["torchvision.transforms.v2.functional.horizontal_flip"], ["numpy.fliplr"]),
    _e("augment.RandomFlip", "random flips", 7, "training",
       ["torchvision.transforms.v2.RandomHorizontalFlip",
        "torchvision.transforms.v2.RandomVerticalFlip"], []),
    _e("augment.RandomRotation", "random rotation", 7, "training",
       ["torchvision.transforms.v2.RandomRotation"], ["skimage.transform.rotate"]),
    _e("augment.RandomTranslation", "random shift by whole pixels", 7, "training",
       ["torchvision.transforms.v2.RandomAffine"], ["scipy.ndimage.shift"]),
    _e("augment.RandomCrop", "pad, then cut a random window", 7, "training",
       ["torchvision.transforms.v2.RandomCrop"], []),
    _e("augment.RandomScale", "random zoom about the centre", 7, "training",
       ["torchvision.transforms.v2.RandomAffine"], ["skimage.transform.rescale"]),
    _e("augment.adjust_brightness", "add a value to every pixel", 7, "training",
       ["torchvision.transforms.v2.functional.adjust_brightness"], [],
       "torchvision multiplies by a factor; ours adds"),
    _e("augment.RandomContrast", "random contrast about the mean", 7, "training",
       ["torchvision.transforms.v2.ColorJitter"], []),
    _e("augment.GaussianNoise", "additive Gaussian noise", 7, "training",
       ["torchvision.transforms.v2.GaussianNoise"], ["skimage.util.random_noise"]),
    _e("augment.Cutout", "paint a random square", 7, "training",
       ["torchvision.transforms.v2.RandomErasing"], []),
    _e("augment.Compose", "transforms one after the other", 7, "training",
       ["torchvision.transforms.v2.Compose"], []),
    _e("augment.RandomApply", "apply a transform with probability p", 7, "training",
       ["torchvision.transforms.v2.RandomApply"], []),
    _e("models.load_lenet_mnist", "the course's pretrained MNIST network", 8, "training",
       ["torchvision.models.resnet18", "torchvision.models.get_model"], [],
       "torchvision's networks are pretrained on ImageNet"),
    _e("transfer.features", "a frozen network's activations as features", 8, "training",
       ["torchvision.models.feature_extraction.create_feature_extractor"], []),
    _e("transfer.linear_probe", "logistic regression on features, C chosen on validation",
       8, "training", [], ["sklearn.linear_model.LogisticRegression"]),
    _e("transfer.hog_features", "histograms of oriented gradients", 8, "training", [],
       ["skimage.feature.hog", "cv2.HOGDescriptor"]),
    _e("transfer.fine_tune", "train a pretrained network on a new task", 9, "training",
       ["torch.nn.Module.requires_grad_", "torch.optim.Adam"], [],
       "layer.trainable = False is param.requires_grad_(False)"),
    _e("transfer.budget_indices", "a labelled subset with so many images per class", 9,
       "training", [], ["sklearn.model_selection.train_test_split"]),
    # ---------------------------------------------------------------- applications (10-11)
    _e("detect.box_iou", "intersection over union of two sets of boxes", 10, "applications",
       ["torchvision.ops.box_iou"], []),
    _e("detect.nms", "greedy non-maximum suppression", 10, "applications",
       ["torchvision.ops.nms", "torchvision.ops.batched_nms"], ["cv2.dnn.NMSBoxes"]),
    _e("detect.average_precision", "COCO's 101-point average precision", 10, "applications",
       [], ["pycocotools.cocoeval.COCOeval"],
       "sklearn.metrics.average_precision_score ranks scores; it does not match boxes"),
    _e("detect.average_precision_range", "AP averaged over IoU 0.5:0.95", 11,
       "applications", [], ["pycocotools.cocoeval.COCOeval"]),
    _e("detect.pyramid", "image pyramid", 10, "applications", [],
       ["skimage.transform.pyramid_gaussian", "cv2.pyrDown"]),
    _e("detect.sliding_windows", "every window of an image", 10, "applications", [],
       ["skimage.util.view_as_windows"]),
    _e("detect.detect_multiscale", "a window classifier over a pyramid, then NMS", 10,
       "applications", [], ["cv2.HOGDescriptor.detectMultiScale",
                            "cv2.CascadeClassifier.detectMultiScale"]),
    _e("faces.detect", "five face detectors behind one call", 10, "applications", [],
       ["cv2.CascadeClassifier", "cv2.FaceDetectorYN", "dlib.get_frontal_face_detector"],
       "OpenCV 5 moved CascadeClassifier to its contrib package"),
    _e("faces.face_chip", "a face aligned by five landmarks", 10, "applications", [],
       ["dlib.get_face_chip"]),
    _e("faces.descriptor", "a 128-number face descriptor", 10, "applications", [],
       ["dlib.face_recognition_model_v1", "cv2.FaceRecognizerSF"]),
    _e("faces.anonymise", "blur or pixelate boxes", 10, "applications", [],
       ["cv2.GaussianBlur", "skimage.filters.gaussian"]),
    _e("lanes.hough_segments", "edges, region and Hough line segments", 11, "applications",
       [], ["cv2.Canny", "cv2.HoughLinesP", "skimage.transform.probabilistic_hough_line"]),
    _e("lanes.birds_eye", "inverse perspective mapping", 11, "applications", [],
       ["cv2.getPerspectiveTransform", "cv2.warpPerspective", "skimage.transform.warp"]),
    _e("lights.hsv_rule", "traffic-light state from hue and value", 11, "applications", [],
       ["cv2.cvtColor", "skimage.color.rgb2hsv"]),
    _e("hog_detector.HogDetector", "HOG + linear SVM sliding-window detector", 11,
       "applications", [], ["sklearn.svm.LinearSVC", "cv2.HOGDescriptor"]),
    _e("grid_detector.grid_detector_net", "a one-stage grid detector", 11, "applications",
       ["torchvision.models.detection.fasterrcnn_resnet50_fpn",
        "torchvision.models.detection.retinanet_resnet50_fpn"], []),
    _e("tabletop.make_scene", "a seeded table top with an arm, in a physics simulator", 12,
       "applications", [], ["pybullet.loadURDF", "pybullet.stepSimulation"],
       "dlcv.tabletop wraps pybullet: one simulator connection per scene"),
    _e("tabletop.world_to_pixel", "the pinhole projection of world points", 12,
       "applications", [], ["cv2.projectPoints"],
       "cv2.projectPoints also applies lens distortion; the simulated camera has none"),
    _e("tabletop.pixel_to_world", "a pixel and its depth back to a world point", 12,
       "applications", [], ["cv2.undistortPoints"],
       "OpenCV gives the normalised ray of a pixel; times the depth and the inverse pose "
       "make the point"),
    _e("tabletop.reach", "inverse kinematics, checked after the move", 12, "applications", [],
       ["pybullet.calculateInverseKinematics"],
       "dlcv calls pybullet's solver and measures where the gripper ended up"),
    _e("perception.propose", "object proposals: height above the table, connected pieces",
       12, "applications", [],
       ["scipy.ndimage.label", "skimage.measure.label", "cv2.connectedComponentsWithStats"]),
    _e("grounding.crop_box", "a box of an image, resized bilinearly", 12, "applications",
       ["torchvision.ops.roi_align"], ["cv2.resize", "skimage.transform.resize"],
       "the same pixel-centre sampling as cv2.resize's INTER_LINEAR (tested)"),
    _e("contrastive.clip_loss", "the symmetric contrastive loss of CLIP", 12, "applications",
       ["torch.nn.functional.cross_entropy"], [],
       "CLIP learns its temperature; here it is fixed"),
    _e("robot.paired_test", "exact McNemar test of two systems on the same commands", 12,
       "applications", [], ["scipy.stats.binomtest"],
       "statsmodels has mcnemar(exact=True), the same binomial test"),
    _e("robot.success_table", "success rates with Wilson intervals", 12, "applications", [],
       ["scipy.stats.binomtest"], "binomtest(...).proportion_ci(method='wilson')"),
    # ---------------------------------------------------------------- limits (13-14)
    _e("corruptions.corrupt", "rotate, blur, noise, invert, thicken", 13, "limits",
       ["torchvision.transforms.v2.functional.gaussian_blur"],
       ["skimage.filters.gaussian", "skimage.morphology.dilation"]),
    _e("calibration.reliability", "reliability diagram's numbers", 13, "limits", [],
       ["sklearn.calibration.calibration_curve"],
       "calibration_curve is for one class (binary); ours bins the top class"),
    _e("calibration.expected_calibration_error", "expected calibration error", 13, "limits",
       [], []),
    _e("adversarial.input_gradient", "gradient of the loss with respect to the pixels", 13,
       "limits", ["torch.autograd.grad"], []),
    _e("adversarial.fgsm", "fast gradient sign attack", 13, "limits",
       ["torch.Tensor.sign", "torch.clamp"], []),
    _e("adversarial.pgd", "projected gradient descent attack", 13, "limits",
       ["torch.clamp"], []),
    _e("saliency.gradient_map", "gradient saliency", 13, "limits", ["torch.autograd.grad"], []),
    _e("saliency.occlusion_map", "occlusion saliency", 13, "limits", [], []),
    _e("saliency.integrated_gradients", "integrated gradients", 14, "limits",
       ["torch.autograd.grad"], []),
    _e("fewshot.prototype_logits", "negative squared distances to class prototypes", 14,
       "limits", ["torch.cdist"], ["scipy.spatial.distance.cdist"]),
    _e("fewshot.mean_confidence_interval", "mean and 95 % interval over episodes", 14,
       "limits", [], ["scipy.stats.sem"]),
    _e("contrastive.info_nce", "NT-Xent (InfoNCE) loss and its gradients", 14, "limits",
       ["torch.nn.functional.cosine_similarity", "torch.nn.functional.cross_entropy"], []),
    # ------------------------------------------------------------------ ethics (chapter 15)
    _e("fairness.disaggregate", "accuracy by group, bootstrap intervals, largest gap", 15,
       "limits", [], ["fairlearn.metrics.MetricFrame"],
       "dlcv calls MetricFrame and adds the intervals; fairlearn also has its own bootstrap"),
    _e("fairness.bootstrap_accuracy", "percentile bootstrap interval of an accuracy", 15,
       "limits", [], ["scipy.stats.bootstrap"]),
    _e("fairness.EthicsResults.compare", "Welch's t-test over seeds between two mixes", 15,
       "limits", [], ["scipy.stats.ttest_ind"]),
    _e("privacy.membership_auc", "ROC AUC of the loss-threshold membership attack", 15,
       "limits", [], ["sklearn.metrics.roc_auc_score"]),
    _e("privacy.attack_at", "true- and false-positive rate at a threshold", 15, "limits", [],
       ["sklearn.metrics.roc_curve"]),
    _e("model_card.model_card", "a model card written from the measured numbers", 15,
       "limits", [], [],
       "the common format at scale is the Hugging Face Hub's model card (a README with a "
       "metadata header)"),
)
# fmt: on


def resolve(name: str):
    """The object a dotted name stands for, importing the longest module prefix.

    ``resolve("cv2.HOGDescriptor.detectMultiScale")`` imports ``cv2`` and returns the
    method; ``resolve("torchvision.transforms.v2.functional.horizontal_flip")`` imports
    the package ``torchvision.transforms.v2.functional``.

    Raises
    ------
    TypeError
        When ``name`` is not a string.
    ValueError
        When ``name`` is empty or has an empty part.
    ImportError
        When no prefix of ``name`` imports, or an attribute after it is missing
        (``AttributeError`` is turned into ``ImportError`` naming the full name).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a dotted name (str), got {type(name).__name__}")
    parts = name.split(".")
    if not name or any(not p for p in parts):
        raise ValueError(f"name must be a dotted name like 'cv2.filter2D', got {name!r}")
    if parts[0] == "pybullet":
        with contextlib.suppress(ImportError):
            import dlcv.tabletop  # noqa: F401  (imports pybullet without its C start-up banner)
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and not module_name.startswith(error.name):
                raise  # the module exists but something it imports does not
            continue
        for attribute in parts[cut:]:
            try:
                obj = getattr(obj, attribute)
            except AttributeError:
                raise ImportError(
                    f"{name}: {'.'.join(parts[:cut])} imports but has no {'.'.join(parts[cut:])}"
                ) from None
        return obj
    raise ImportError(f"{name}: no prefix of it is an importable module")


def by_part(part: str) -> list[Equivalent]:
    """The records of one table (a key of :data:`PARTS`), in the order of the course."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    return [e for e in EQUIVALENTS if e.part == part]


def _code(name: str) -> str:
    """A dotted name as inline code that may wrap after each dot (``<wbr>``)."""
    return "<code>" + ".<wbr>".join(name.split(".")) + "</code>"


def _names(names) -> str:
    return ", ".join(_code(n) for n in names) if names else "none"


def markdown_table(part: str) -> str:
    """One part's records as a Markdown table: the course, PyTorch, the other libraries.

    The first column holds the ``dlcv`` name (without ``dlcv.``), its chapter, what it is
    and, when the record has one, its note in italics. Names are inline HTML code that
    may wrap after a dot, so the table fits a narrow screen.
    """
    lines = [
        "| in the course (chapter) | PyTorch / torchvision | OpenCV, scikit-image, "
        "scikit-learn, SciPy, NumPy, pycocotools, dlib |",
        "|---|---|---|",
    ]
    for e in by_part(part):
        first = f"{_code(e.dlcv.removeprefix('dlcv.'))} ({e.chapter}): {e.what}"
        if e.note:
            first += f" <br>*{e.note}*"
        lines.append(f"| {first} | {_names(e.torch)} | {_names(e.other)} |")
    return "\n".join(lines)
